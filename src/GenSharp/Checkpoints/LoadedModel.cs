using System.Text.Json.Nodes;
using GenSharp.Models;

namespace GenSharp.Checkpoints;

/// <summary>A model read back from a checkpoint folder.</summary>
/// <param name="Family">Its family.</param>
/// <param name="Model">The built model with the checkpoint's weights (EMA weights when the run kept them).</param>
/// <param name="Path">The checkpoint folder.</param>
/// <param name="Manifest">The checkpoint's config.json.</param>
public sealed record LoadedModel(IFamily Family, IGenerativeModel Model, string Path, JsonObject Manifest) : IDisposable
{
    /// <summary>Steps the checkpoint was trained for.</summary>
    public long Step => Manifest["step"]?.GetValue<long>() ?? 0;
    public void Dispose() => Model.Dispose();
}
