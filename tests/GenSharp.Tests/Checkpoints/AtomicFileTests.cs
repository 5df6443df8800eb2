using GenSharp.Checkpoints;
using Xunit;

namespace GenSharp.Tests;

public sealed class AtomicFileTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "gensharp-atomic-" + Guid.NewGuid().ToString("N"));

    public AtomicFileTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void WriteAllBytesCreatesFileAndLeavesNoTemp()
    {
        var path = Path.Combine(_dir, "a.bin");
        AtomicFile.WriteAllBytes(path, [1, 2, 3]);
        Assert.Equal(new byte[] { 1, 2, 3 }, File.ReadAllBytes(path));
        Assert.Equal(["a.bin"], Directory.GetFiles(_dir).Select(Path.GetFileName));
    }

    [Fact]
    public void WriteAllTextReplacesExistingFile()
    {
        var path = Path.Combine(_dir, "a.txt");
        File.WriteAllText(path, "old content that is longer");
        AtomicFile.WriteAllText(path, "new ✓");
        Assert.Equal("new ✓", File.ReadAllText(path));
        Assert.Equal(new byte[] { (byte)'n', (byte)'e', (byte)'w' }, File.ReadAllBytes(path)[..3]); // no BOM
        Assert.Single(Directory.GetFiles(_dir));
    }

    [Fact]
    public void WriteStreamsContent()
    {
        var path = Path.Combine(_dir, "s.bin");
        AtomicFile.Write(path, s => { s.WriteByte(7); s.Write([8, 9]); });
        Assert.Equal(new byte[] { 7, 8, 9 }, File.ReadAllBytes(path));
    }

    [Fact]
    public void WriterThatThrowsMidWriteLeavesPreviousFileAndNoTemp()
    {
        var path = Path.Combine(_dir, "model.safetensors");
        File.WriteAllBytes(path, [42, 43, 44]);
        string? tempSeen = null;

        var e = Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, s =>
        {
            s.Write(new byte[1000]);
            s.Flush();
            tempSeen = ((FileStream)s).Name;
            throw new InvalidOperationException("disk on fire");
        }));

        Assert.Equal("disk on fire", e.Message);
        Assert.Equal(new byte[] { 42, 43, 44 }, File.ReadAllBytes(path));
        Assert.Equal(["model.safetensors"], Directory.GetFiles(_dir).Select(Path.GetFileName));
        Assert.NotNull(tempSeen);
        Assert.Equal(_dir, Path.GetDirectoryName(tempSeen));
        Assert.StartsWith(".model.safetensors.tmp-", Path.GetFileName(tempSeen));
        Assert.False(File.Exists(tempSeen));
    }

    [Fact]
    public void WriterThatThrowsWithoutExistingFileCreatesNothing()
    {
        var path = Path.Combine(_dir, "new.bin");
        Assert.Throws<IOException>(() => AtomicFile.Write(path, s => { s.WriteByte(1); throw new IOException("boom"); }));
        Assert.Empty(Directory.GetFiles(_dir));
    }

    [Fact]
    public void MissingFolderIsCreatedAndABlockedOneIsAUserError()
    {
        var path = Path.Combine(_dir, "no-such-folder", "x.bin");
        AtomicFile.WriteAllBytes(path, [1]);
        Assert.Equal(new byte[] { 1 }, File.ReadAllBytes(path));
        var blocker = Path.Combine(_dir, "file");
        File.WriteAllText(blocker, "x");
        var e = Assert.Throws<GenSharpException>(() => AtomicFile.WriteAllBytes(Path.Combine(blocker, "y.bin"), [1]));
        Assert.Contains("cannot create folder", e.Message);
    }
}
