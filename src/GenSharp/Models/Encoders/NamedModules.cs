namespace GenSharp.Models.Encoders;

/// <summary>
/// A module that only holds named children and parameters, so a network can expose Hugging Face's nested
/// checkpoint names (<c>encoder.layer.0.attention.self.query.weight</c>) while its forward code keeps flat
/// references to the layers.
/// </summary>
internal sealed class NamedModules : nn.Module
{
    public NamedModules(params (string Name, nn.Module Child)[] children) : base(nameof(NamedModules))
    {
        foreach (var (name, child) in children) register_module(name, child);
    }

    /// <summary>Adds a parameter under <paramref name="name"/>; returns this node.</summary>
    public NamedModules WithParameter(string name, TorchSharp.Modules.Parameter p)
    {
        register_parameter(name, p);
        return this;
    }

    protected override void RegisterComponents() { }
}
