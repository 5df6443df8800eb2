namespace GenSharp.Runtime;

/// <summary>Calls into TorchScript functions compiled with <see cref="torch.jit.compile"/>.</summary>
internal static class ScriptCalls
{
    /// <summary>
    /// Calls <paramref name="function"/> of <paramref name="unit"/> with its numbers (long, double, bool) as Scalars held
    /// until the call returns: a number TorchSharp converts by itself becomes a temporary Scalar whose handle it passes on,
    /// and a collection during the call could finalise it (seen: "Scalar::toLong" failing inside the scripted decoder under
    /// the server's load). Tensors and tensor arrays (TorchScript lists) pass as they are.
    /// </summary>
    public static object Invoke(this torch.jit.CompilationUnit unit, string function, params object?[] args)
    {
        var held = new List<Scalar>();
        for (int i = 0; i < args.Length; i++)
        {
            Scalar? s = args[i] switch { long l => l.ToScalar(), double d => d.ToScalar(), bool b => b.ToScalar(), _ => null };
            if (s is null) continue;
            held.Add(s);
            args[i] = s;
        }
        try { return unit.invoke(function, args!); }
        finally { foreach (var s in held) s.Dispose(); }
    }
}
