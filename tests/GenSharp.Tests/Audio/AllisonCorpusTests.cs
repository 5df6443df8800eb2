using GenSharp.Data;
using GenSharp.Media.Audio;
using GenSharp.Runtime;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests.Audio;

/// <summary>The Allison corpus from the Debian packages (.ci/run installs them).</summary>
public sealed class AllisonCorpusTests
{
    public AllisonCorpusTests() => TorchRuntime.EnsureReady();

    [Fact]
    public void AllisonCorpusLoadsSpokenUtterancesWithTranscriptsAndAFixedSplit()
    {
        var c = AllisonCorpus.Load("allison");
        // 568 WAV files with transcripts, less 5 tones/screams and 10 silence files.
        Assert.Equal(568 - 5 - 10, c.Utterances.Count);
        Assert.Equal("seven", c.Utterances.Single(u => u.Id == "digits/7").Transcript);
        Assert.Equal("at", c.Utterances.Single(u => u.Id == "letters/at").Transcript);
        Assert.DoesNotContain(c.Utterances, u => u.Id.StartsWith("silence/") || u.Id == "beep" || u.Id == "tt-monkeys");
        Assert.Equal(c.Utterances.Count, c.Train.Count + c.Test.Count);
        Assert.Empty(c.Train.Select(u => u.Id).Intersect(c.Test.Select(u => u.Id)));
        Assert.InRange(c.Test.Count, 35, 75);
        // The split is a function of the id alone: recompute FNV-1a independently (unrolled over UTF-8 bytes as ulong).
        foreach (var u in c.Utterances)
        {
            ulong h = 0x811C9DC5;
            foreach (var b in System.Text.Encoding.UTF8.GetBytes(u.Id)) h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF;
            Assert.Equal(h % 10 == 0, u.IsTest);
        }
        var w = AllisonCorpus.ReadAudio(c.Utterances.Single(u => u.Id == "activated"));
        Assert.Equal(8000, w.SampleRate);
        Assert.Equal(8512, w.Samples.Length);   // soxi: 8512 samples
    }

    [Fact]
    public void AllisonCorpusMissingFolderAndPackageSayWhatToDo()
    {
        var e = Assert.Throws<GenSharpException>(() => AllisonCorpus.Load("/nonexistent/allison-folder"));
        Assert.Contains("folder not found", e.Message);
        Assert.Null(AllisonCorpus.Spoken("(10 seconds of silence)"));
        Assert.Null(AllisonCorpus.Spoken("[ascending tones]"));
        Assert.Equal("dollar", AllisonCorpus.Spoken("dollar [$]"));
        Assert.Equal("Thank you.", AllisonCorpus.Spoken("Thank  you."));
    }

    [Fact]
    public void AllisonCorpusFolderOfTheSameLayoutLoads()
    {
        var dir = TestData.TempDir();
        File.WriteAllText(Path.Combine(dir, "core-sounds-en.txt"), "; comment\nhello: Hello there.\ntone: [a tone]\nmissing: No audio.\n");
        WavFile.Write(Path.Combine(dir, "hello.wav"), new Waveform(new short[800], 8000));
        WavFile.Write(Path.Combine(dir, "tone.wav"), new Waveform(new short[800], 8000));
        var c = AllisonCorpus.Load(dir);
        Assert.Equal("hello", Assert.Single(c.Utterances).Id);
        Assert.Contains("1 utterances", c.Source);
    }

    [Fact]
    public void AudioBatchesCropAlignedToFramesWithTheRecordingsSpectrogram()
    {
        var mel = new MelSettings { Mels = 20 };
        var rng = new Random(5);
        var recordings = new[] { 3000, 900, 5000 }.Select(n =>
            new Waveform(Enumerable.Range(0, n).Select(_ => (short)rng.Next(-8000, 8000)).ToArray(), 8000)).ToList();
        using var batches = new AudioBatches(recordings, mel, cropSamples: 1600, batchSize: 6, seed: 3);
        Assert.Equal(2, batches.Recordings);   // 900 samples are shorter than a crop
        var (audio, mels) = batches.GetBatch(4);
        Assert.Equal(new long[] { 6, 1600 }, audio.shape);
        Assert.Equal(new long[] { 6, 20, 20 }, mels.shape);
        var (again, _) = batches.GetBatch(4);
        Assert.True(again.eq(audio).all().item<bool>());
        var (other, _) = batches.GetBatch(5);
        Assert.False(other.eq(audio).all().item<bool>());
        for (int b = 0; b < 6; b++)
        {
            // The crop is a slice of one recording starting at a multiple of the hop ...
            var crop = Waveform.FromTensor(audio[b], 8000).Samples;
            var (rec, start) = recordings.Select(r => (r, Find(r.Samples, crop))).Single(x => x.Item2 >= 0);
            Assert.Equal(0, start % mel.Hop);
            // ... and its frames are the recording's frames, which away from the crop's edges are what the crop alone gives.
            using var own = Spectrogram.LogMel(audio[b], mel);                     // (20, 21)
            for (int k = 2; k <= (1600 - 128) / 80; k++)
                Assert.True(own.select(1, k).allclose(mels[b].select(1, k), 1e-4, 1e-4), $"frame {k} of crop {b}");
        }
    }

    static int Find(short[] hay, short[] needle)
    {
        for (int i = 0; i + needle.Length <= hay.Length; i++)
            if (hay.AsSpan(i, needle.Length).SequenceEqual(needle)) return i;
        return -1;
    }
}
