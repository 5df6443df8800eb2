using GenSharp.Media.Audio;
using static TorchSharp.torch.nn.functional;

namespace GenSharp.Models.Audio;

/// <summary>
/// Fast WaveNet generation (Paine et al. 2016, "Fast Wavenet Generation Algorithm", arXiv:1611.09482): each layer
/// keeps a queue of its last d inputs, so the new sample needs one matrix product per layer — the dilated kernel applied
/// to [x(t − d); x(t)] — instead of a pass over the whole receptive field. Queues start at zero, which is exactly the
/// zero padding the convolutions see before the first sample, so the logits equal the full network's.
/// </summary>
/// <remarks>Create it inside the caller's dispose scope: the matrices and queues belong to that scope.</remarks>
internal sealed class WaveNetQueues
{
    readonly WaveNetNetwork _net;
    readonly List<(Tensor Kernel, Tensor KernelBias, Tensor? Condition, Tensor Out, Tensor OutBias)> _layers;
    readonly (Tensor Hidden, Tensor HiddenBias, Tensor Out, Tensor OutBias) _head;
    readonly Tensor[] _queues;           // per layer (d, B, R): slot t mod d holds the layer's input at t − d until t overwrites it
    readonly int _skip, _gate;
    long _position;

    public WaveNetQueues(WaveNetNetwork net, WaveNetConfig config, long batch, Device device)
    {
        _net = net;
        _skip = config.SkipChannels;
        _gate = config.GateChannels;
        _layers = net.Layers.Select(l => l.StepWeights()).ToList();
        _head = net.HeadStepWeights();
        var dtype = net.EmbeddingTable.dtype;
        _queues = net.Layers.Select(l => torch.zeros(new long[] { l.Dilation, batch, config.ResidualChannels }, dtype: dtype, device: device)).ToArray();
    }

    /// <summary>
    /// Logits (B, 256) of the next sample after feeding the codes (B) of the current position, with each layer's
    /// conditioning gates (B, 2G) at that position (null when unconditional). Advances the queues by one sample.
    /// </summary>
    public Tensor Step(Tensor codes, IReadOnlyList<Tensor>? gates)
    {
        var x = _net.EmbeddingTable.index_select(0, codes);                                 // (B, R)
        Tensor? skips = null;
        for (int i = 0; i < _layers.Count; i++)
        {
            var (kernel, kernelBias, _, outW, outB) = _layers[i];
            var q = _queues[i];
            var slot = q[_position % q.shape[0]];                                           // (B, R): input at t − d
            var h = torch.addmm(kernelBias, torch.cat(new[] { slot, x }, 1), kernel, 1, 1);       // (B, 2G)
            if (gates is not null) h = h.add(gates[i], AudioScalars.One);                  // not +: see AudioScalars
            var z = torch.tanh(h.narrow(1, 0, _gate)) * torch.sigmoid(h.narrow(1, _gate, _gate)); // (B, G)
            var o = torch.addmm(outB, z, outW, 1, 1);                                             // (B, S + R)
            slot.copy_(x);                                                                  // x(t) waits d steps
            var skip = o.narrow(1, 0, _skip);
            skips = skips is null ? skip : skips.add(skip, AudioScalars.One);
            x = x.add(o.narrow(1, _skip, o.shape[1] - _skip), AudioScalars.One);
        }
        _position++;
        var hidden = relu(torch.addmm(_head.HiddenBias, relu(skips!), _head.Hidden, 1, 1));
        return torch.addmm(_head.OutBias, hidden, _head.Out, 1, 1);                               // (B, 256)
    }

}
