namespace GenSharp.Training;

/// <summary>
/// What a family's <see cref="ITrainable.TrainStep"/> gets from the trainer: the 0-based index of the step (it drives
/// schedules such as the DBN's layer-by-layer training, and is saved with the trainer state, so resume continues it)
/// and a sink for metrics. Metrics keep the order of their first <c>Log</c>; the first is the step's headline loss.
/// Tensor metrics are detached and read once, after the step, in one transfer.
/// </summary>
public sealed class StepContext
{
    readonly List<string> _order = new();
    readonly Dictionary<string, Tensor> _tensors = new();
    readonly Dictionary<string, double> _values = new();

    /// <param name="step">0-based index of the step (the number of steps before it).</param>
    public StepContext(long step) => Step = step;

    /// <summary>0-based index of this step.</summary>
    public long Step { get; }

    /// <summary>Records a scalar tensor metric (detached; read after the step). Logging a name again replaces its value.</summary>
    public void Log(string name, Tensor value)
    {
        Add(name);
        _values.Remove(name);
        _tensors[name] = value.detach();
    }

    /// <summary>Records a metric already read. Logging a name again replaces its value.</summary>
    public void Log(string name, double value)
    {
        Add(name);
        _tensors.Remove(name);
        _values[name] = value;
    }

    void Add(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (!_tensors.ContainsKey(name) && !_values.ContainsKey(name)) _order.Add(name);
    }

    /// <summary>The metrics in logging order, tensors read in one transfer.</summary>
    internal Dictionary<string, double> Read()
    {
        var result = new Dictionary<string, double>(_order.Count);
        double[] read = Array.Empty<double>();
        var names = _order.Where(_tensors.ContainsKey).ToList();
        if (names.Count > 0)
        {
            using var scope = torch.NewDisposeScope();
            var stacked = torch.stack(names.Select(n => _tensors[n].reshape(Array.Empty<long>()).to(ScalarType.Float64).cpu()).ToArray());
            read = stacked.data<double>().ToArray();
        }
        for (int i = 0, t = 0; i < _order.Count; i++)
        {
            var name = _order[i];
            result[name] = _tensors.ContainsKey(name) ? read[t++] : _values[name];
        }
        return result;
    }
}
