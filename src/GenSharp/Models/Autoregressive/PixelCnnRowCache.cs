namespace GenSharp.Models.Autoregressive;

/// <summary>
/// The horizontal stacks of one row, evaluated a column at a time for sampling (the caching idea of
/// Ramachandran et al. 2017, "Fast Generation for Convolutional Autoregressive Models",
/// arXiv:1704.06001, applied within a row): each block's input row is kept, left-padded, and
/// column c of every block is computed from the window its 1×n convolution reads, then written
/// into the next block's row. A pixel costs one column of work instead of a pass over the row.
/// Tensors it creates belong to the caller's dispose scope.
/// </summary>
internal sealed class PixelCnnRowCache
{
    readonly PixelCnnNetwork _net;
    readonly GatedPixelCnnBlock[] _blocks;
    readonly IReadOnlyList<Tensor> _links;
    readonly Tensor? _labels;
    readonly Tensor[] _inputs;   // per block: its horizontal-stack input for this row, (B, Cin, 1, pad + W)
    readonly int[] _pads, _widths;
    readonly long _batch;

    /// <param name="net">The network.</param>
    /// <param name="row">Network input of the row, (B, C, 1, W); columns from the first one to sample on may hold anything.</param>
    /// <param name="links">The row's links (<see cref="PixelCnnNetwork.RowLinks"/>), each (B, 2p, 1, W).</param>
    /// <param name="labels">Class labels (B) for a conditional network, else null.</param>
    public PixelCnnRowCache(PixelCnnNetwork net, Tensor row, IReadOnlyList<Tensor> links, Tensor? labels)
    {
        _net = net;
        _blocks = net.Blocks;
        _links = links;
        _labels = labels;
        _batch = row.shape[0];
        long width = row.shape[3];
        int n = _blocks.Length;
        _inputs = new Tensor[n];
        _pads = new int[n];
        _widths = new int[n];
        for (int l = 0; l < n; l++)
        {
            (_pads[l], _widths[l]) = _blocks[l].HorizontalWindow;
            long channels = l == 0 ? row.shape[1] : links[l].shape[1] / 2;
            _inputs[l] = torch.zeros(new[] { _batch, channels, 1, _pads[l] + width }, dtype: row.dtype, device: row.device);
        }
        _inputs[0].narrow(3, _pads[0], width).copy_(row);
    }

    /// <summary>
    /// Logits (B, Levels·C) of column c. Columns before c must have been visited in order, and their
    /// pixels set (by <see cref="Set"/> or in the initial row).
    /// </summary>
    public Tensor Logits(long c)
    {
        Tensor? skips = null;
        for (int l = 0; l < _inputs.Length; l++)
        {
            var window = _inputs[l].narrow(3, c, _widths[l]);              // (B, Cin, 1, kernel width)
            var here = _inputs[l].narrow(3, _pads[l] + c, 1);              // (B, Cin, 1, 1)
            var (output, skip) = _blocks[l].HorizontalColumn(window, here, _links[l].narrow(3, c, 1), _labels);
            skips = skips is null ? skip : skips + skip;
            if (output is not null) _inputs[l + 1].narrow(3, _pads[l + 1] + c, 1).copy_(output);
        }
        return _net.Head(skips!).view(_batch, -1);                          // (B, Levels·C)
    }

    /// <summary>Stores the (network-input) value of pixel c, (B, C), once it is sampled.</summary>
    public void Set(long c, Tensor pixel) =>
        _inputs[0].narrow(3, _pads[0] + c, 1).copy_(pixel.view(_batch, -1, 1, 1));
}
