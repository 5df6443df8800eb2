namespace GenSharp.Checkpoints;

/// <summary>
/// Moves a module's parameters and buffers to and from name-to-tensor dictionaries, using the same
/// dotted names PyTorch uses in its state dicts (for example <c>encoder.0.weight</c>,
/// <c>1.running_mean</c>, <c>1.num_batches_tracked</c>), so checkpoints interoperate with PyTorch.
/// </summary>
public static class ModuleState
{
    /// <summary>
    /// Every parameter and buffer of <paramref name="module"/> and its submodules, under its module path.
    /// </summary>
    /// <param name="module">The module to read.</param>
    /// <returns>
    /// A new dictionary whose values are the module's own live tensors, not copies: do not dispose or
    /// modify them. Pass the dictionary straight to <see cref="Safetensors.Save"/> to write a checkpoint.
    /// </returns>
    public static Dictionary<string, Tensor> Collect(nn.Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        return new Dictionary<string, Tensor>(module.state_dict(), StringComparer.Ordinal);
    }

    /// <summary>
    /// Copies <paramref name="tensors"/> into the parameters and buffers of <paramref name="module"/>,
    /// in place, without recording gradients. Tensors are moved to each parameter's device; dtypes must
    /// already match. Every name, shape and dtype is checked before anything is copied, so on error
    /// the module is unchanged.
    /// </summary>
    /// <param name="module">The module to fill.</param>
    /// <param name="tensors">Tensors by PyTorch state-dict name, for example from <see cref="SafetensorsFile.Tensors"/>. Not modified or disposed.</param>
    /// <param name="sourceName">What to call the tensors in error messages, typically the checkpoint's file name.</param>
    /// <param name="obsolete">
    /// Names an older release saved that the module no longer has (e.g. the <c>steps_done</c> counters that moved into
    /// the trainer state): skipped when present in <paramref name="tensors"/>, never required. Any other unexpected name
    /// is still an error.
    /// </param>
    /// <exception cref="GenSharpException">
    /// The tensors do not match the module: the message lists every missing name, unexpected name,
    /// shape mismatch and dtype mismatch.
    /// </exception>
    public static void Load(nn.Module module, IReadOnlyDictionary<string, Tensor> tensors, string sourceName,
                            IReadOnlyCollection<string>? obsolete = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentNullException.ThrowIfNull(sourceName);

        var target = module.state_dict();
        Check(target, tensors.Where(kv => kv.Value is not null).ToDictionary(kv => kv.Key, kv => (kv.Value.shape, kv.Value.dtype), StringComparer.Ordinal),
              sourceName, obsolete);
        using (no_grad())
        {
            foreach (var (name, own) in target)
                own.copy_(tensors[name]);
        }
    }

    /// <summary>
    /// Copies the tensors of an open safetensors file into the parameters and buffers of <paramref name="module"/> one at a
    /// time, so the file is never held in memory whole. Checks as <see cref="Load(nn.Module, IReadOnlyDictionary{string, Tensor}, string, IReadOnlyCollection{string}?)"/>
    /// does, from the file's header, before anything is copied.
    /// </summary>
    /// <exception cref="GenSharpException">The file's tensors do not match the module (every mismatch listed).</exception>
    /// <param name="module">The module to fill.</param>
    /// <param name="reader">The open file.</param>
    /// <param name="obsolete">Names in the file that are read elsewhere or dropped (not reported as unexpected).</param>
    /// <param name="leave">Names of the module's own tensors that the file does not fill (they keep their values).</param>
    public static void Load(nn.Module module, SafetensorsReader reader, IReadOnlyCollection<string>? obsolete = null,
                            IReadOnlyCollection<string>? leave = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(reader);

        var target = module.state_dict();
        foreach (var name in leave ?? Array.Empty<string>()) target.Remove(name);
        Check(target, reader.Names.ToDictionary(n => n, n => (reader.Shape(n), reader.DType(n)), StringComparer.Ordinal), reader.Path, obsolete);
        foreach (var (name, own) in target)
            reader.ReadInto(name, own);
    }

    static void Check(Dictionary<string, Tensor> target, Dictionary<string, (long[] Shape, ScalarType DType)> given, string sourceName,
                      IReadOnlyCollection<string>? obsolete)
    {
        var missing = new List<string>();
        var shapeMismatch = new List<string>();
        var dtypeMismatch = new List<string>();
        foreach (var (name, own) in target)
        {
            if (!given.TryGetValue(name, out var g))
            {
                missing.Add(name);
                continue;
            }
            if (!g.Shape.SequenceEqual(own.shape))
                shapeMismatch.Add($"{name}: file {Safetensors.FormatShape(g.Shape)} vs model {Safetensors.FormatShape(own.shape)}");
            else if (g.DType != own.dtype)
                dtypeMismatch.Add($"{name}: file {Safetensors.DTypeName(g.DType)} vs model {Safetensors.DTypeName(own.dtype)}");
        }
        var unexpected = given.Keys.Where(k => !target.ContainsKey(k) && !(obsolete?.Contains(k) ?? false)).OrderBy(k => k, StringComparer.Ordinal).ToList();

        if (missing.Count + unexpected.Count + shapeMismatch.Count + dtypeMismatch.Count > 0)
        {
            var parts = new List<string>();
            if (missing.Count > 0) parts.Add($"missing [{string.Join(", ", missing)}]");
            if (unexpected.Count > 0) parts.Add($"unexpected [{string.Join(", ", unexpected)}]");
            if (shapeMismatch.Count > 0) parts.Add($"shape mismatch [{string.Join(", ", shapeMismatch)}]");
            if (dtypeMismatch.Count > 0) parts.Add($"dtype mismatch [{string.Join(", ", dtypeMismatch)}]");
            throw new GenSharpException(
                $"{sourceName} does not match the model: {string.Join(", ", parts)}; use a checkpoint saved from this model configuration");
        }
    }
}
