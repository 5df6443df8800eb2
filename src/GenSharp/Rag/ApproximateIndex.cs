using Cloud.Unum.USearch;

namespace GenSharp.Rag;

/// <summary>
/// The approximate vector index of a <see cref="SqliteRagStore"/>: an HNSW graph (USearch, cosine metric, float32)
/// keyed by chunk id, persisted as one file beside the SQLite file (<c>NAME.rag.sqlite.usearch</c>). The store keeps it
/// in step with its chunks: a replaced or removed file's chunks leave the graph, new ones join it; the file records
/// which version of the store it matches, and a store opened with a stale or missing file rebuilds it from the stored
/// vectors.
/// </summary>
public sealed class ApproximateIndex : IDisposable
{
    readonly USearchIndex _index;

    ApproximateIndex(USearchIndex index, int dimensions) { _index = index; Dimensions = dimensions; }

    /// <summary>Graph degree (links per node).</summary>
    public const int Connectivity = 16;
    /// <summary>Candidates kept while inserting.</summary>
    public const int ExpansionAdd = 128;
    /// <summary>Candidates kept while searching (larger: better recall, slower).</summary>
    public const int ExpansionSearch = 64;

    /// <summary>Values per vector.</summary>
    public int Dimensions { get; }

    /// <summary>The index file of a store file.</summary>
    public static string PathFor(string storePath) => storePath + ".usearch";

    /// <summary>An empty index.</summary>
    public static ApproximateIndex Create(int dimensions) =>
        new(new USearchIndex(MetricKind.Cos, ScalarKind.Float32, (ulong)dimensions, Connectivity, ExpansionAdd, ExpansionSearch), dimensions);

    /// <summary>The index saved in <paramref name="path"/>, or null when it is missing, unreadable or of other dimensions.</summary>
    public static ApproximateIndex? Load(string path, int dimensions)
    {
        if (!File.Exists(path)) return null;
        USearchIndex? index = null;
        try
        {
            index = new USearchIndex(path);
            if ((int)index.Dimensions() != dimensions) { index.Dispose(); return null; }
            return new ApproximateIndex(index, dimensions);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            index?.Dispose();
            return null;
        }
    }

    /// <summary>Vectors in the graph.</summary>
    public long Count => (long)_index.Size();

    /// <summary>Adds a chunk's vector.</summary>
    public void Add(long id, float[] vector)
    {
        if (vector.Length != Dimensions) throw new ArgumentException($"{vector.Length} values, the index holds {Dimensions}");
        _index.Add((ulong)id, vector);
    }

    /// <summary>Removes a chunk (nothing when it is not there).</summary>
    public void Remove(long id)
    {
        if (_index.Contains((ulong)id)) _index.Remove((ulong)id);
    }

    /// <summary>Whether a chunk is in the graph.</summary>
    public bool Contains(long id) => _index.Contains((ulong)id);

    /// <summary>The (about) <paramref name="k"/> nearest chunks: ids and cosine similarities, best first.</summary>
    public List<(long Id, double Cosine)> Search(float[] query, int k)
    {
        if (Count == 0 || k <= 0) return new();
        int n = _index.Search(query, k, out var keys, out var distances);
        var found = new List<(long, double)>(n);
        for (int i = 0; i < n; i++) found.Add(((long)keys[i], 1.0 - distances[i]));   // cosine distance = 1 − cosine
        return found;
    }

    /// <summary>Writes the graph to <paramref name="path"/> (through a temporary file, so a reader never sees half of it).</summary>
    public void Save(string path)
    {
        var tmp = path + ".tmp";
        _index.Save(tmp);
        File.Move(tmp, path, overwrite: true);
    }

    public void Dispose() => _index.Dispose();
}
