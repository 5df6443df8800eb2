using System.Diagnostics;
using GenSharp.Evaluation;
using GenSharp.Media;
using GenSharp.Media.Audio;
using GenSharp.Runtime;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests.Audio;

public sealed class AudioMediaTests : IDisposable
{
    readonly string _dir = TestData.TempDir();

    public AudioMediaTests() => TorchRuntime.EnsureReady();

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    /// <summary>Runs sox (a Debian package .ci/run installs) and returns its standard output bytes.</summary>
    internal static byte[] Sox(params string[] args)
    {
        var psi = new ProcessStartInfo("sox") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        using var ms = new MemoryStream();
        p.StandardOutput.BaseStream.CopyTo(ms);
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"sox {string.Join(' ', args)} failed: {err}");
        return ms.ToArray();
    }

    static double MuLawFormula(double x) => Math.Sign(x) * Math.Log(1 + 255 * Math.Abs(x)) / Math.Log(256);

    [Fact]
    public void AudioMuLawEncodeMatchesTheFormulaOnKnownValues()
    {
        double[] xs = { -1, -0.5, -0.01, -1e-4, 0, 1e-4, 0.01, 0.2, 0.5, 0.999, 1 };
        using var codes = MuLaw.Encode(torch.tensor(xs));
        var got = codes.data<long>().ToArray();
        for (int i = 0; i < xs.Length; i++)
        {
            long expected = (long)Math.Round((MuLawFormula(xs[i]) + 1) / 2 * 255, MidpointRounding.ToEven);
            Assert.Equal(expected, got[i]);
        }
        Assert.Equal(0, got[0]);
        Assert.Equal(255, got[^1]);
        Assert.Equal(239, got[8]);  // f(0.5) = ln 128.5 / ln 256 = 0.87569 → 1.87569·127.5 = 239.15
    }

    [Fact]
    public void AudioMuLawDecodeInvertsEveryLevel()
    {
        using var levels = torch.arange(256, dtype: ScalarType.Int64);
        using var audio = MuLaw.Decode(levels);
        var x = audio.data<float>().ToArray();
        for (int k = 0; k < 256; k++)
        {
            double y = 2.0 * k / 255 - 1;
            double expected = Math.Sign(y) * (Math.Pow(256, Math.Abs(y)) - 1) / 255;
            Assert.Equal(expected, x[k], 5);
        }
        using var again = MuLaw.Encode(audio);
        Assert.True(again.eq(levels).all().item<bool>());
        // Monotone in the level, odd around 127.5.
        for (int k = 1; k < 256; k++) Assert.True(x[k] > x[k - 1]);
        Assert.Equal(-x[0], x[255], 6);
    }

    [Fact]
    public void AudioMelFilterbankIsAPartitionOfUnityBetweenTheCentres()
    {
        var s = new MelSettings { SampleRate = 8000, NFft = 256, Mels = 20 };
        using var bank = Spectrogram.MelFilterbank(s);
        Assert.Equal(new long[] { 20, 129 }, bank.shape);
        Assert.True(bank.min().item<float>() >= 0);
        Assert.True(bank.max().item<float>() <= 1 + 1e-6);
        // Every filter sees some bins; filter centres increase.
        var peakBins = bank.argmax(1).data<long>().ToArray();
        for (int i = 1; i < peakBins.Length; i++) Assert.True(peakBins[i] > peakBins[i - 1]);
        Assert.True(bank.sum(dim: 1).min().item<float>() > 0);
        // Between the first and the last centre (in Hz, from the mel edges), the filters sum to 1 at each bin.
        double lo = Spectrogram.HzToMel(0), hi = Spectrogram.HzToMel(4000);
        double firstCentre = Spectrogram.MelToHz(lo + (hi - lo) / 21), lastCentre = Spectrogram.MelToHz(lo + (hi - lo) * 20 / 21);
        using var sums = bank.sum(dim: 0);
        var sum = sums.data<float>().ToArray();
        int checkedBins = 0;
        for (int k = 0; k < 129; k++)
        {
            double hz = k * 8000.0 / 256;
            if (hz < firstCentre || hz > lastCentre) continue;
            Assert.Equal(1.0, sum[k], 5);
            checkedBins++;
        }
        Assert.True(checkedBins > 100);
        Assert.Equal(700 * (Math.Pow(10, 1000 / 2595.0) - 1), Spectrogram.MelToHz(1000), 9);
        Assert.Equal(1000, Spectrogram.HzToMel(Spectrogram.MelToHz(1000)), 9);
    }

    [Fact]
    public void AudioStftOfAPureSinePeaksAtItsBin()
    {
        var s = new MelSettings { SampleRate = 8000, NFft = 256, Hop = 80 };
        foreach (int bin in new[] { 10, 32, 77 })
        {
            double hz = bin * 8000.0 / 256;
            var wave = Enumerable.Range(0, 4000).Select(t => (float)(0.5 * Math.Sin(2 * Math.PI * hz * t / 8000))).ToArray();
            using var x = torch.tensor(wave);
            using var mag = Spectrogram.Magnitude(x, s);                                     // (129, frames)
            Assert.Equal(new long[] { 129, 1 + 4000 / 80 }, mag.shape);
            using var middle = mag.select(1, 25);
            Assert.Equal(bin, middle.argmax().item<long>());
            // A Hann-windowed sine of amplitude A on a bin: |X[k]| = A·N/4.
            Assert.Equal(0.5 * 256 / 4, middle[bin].item<float>(), 2);
            // Batched input gives the same frames.
            using var batched = Spectrogram.Magnitude(x.unsqueeze(0).repeat(2, 1), s);
            Assert.True(batched[1].allclose(mag, 1e-5, 1e-5));
        }
    }

    [Fact]
    public void AudioLogMelIsTheLogOfTheFilteredMagnitudes()
    {
        var s = new MelSettings { Mels = 16 };
        using var gen = new Generator(3);
        using var x = torch.rand(new long[] { 1600 }, generator: gen) - 0.5;
        using var logMel = Spectrogram.LogMel(x, s);
        Assert.Equal(new long[] { 16, 21 }, logMel.shape);
        using var mag = Spectrogram.Magnitude(x, s);
        using var bank = Spectrogram.MelFilterbank(s);
        // Band 5 of frame 7 by hand.
        double manual = 0;
        for (int k = 0; k < 129; k++) manual += bank[5, k].item<float>() * mag[k, 7].item<float>();
        Assert.Equal(Math.Log(manual), logMel[5, 7].item<float>(), 4);
    }

    [Fact]
    public void AudioWavRoundTripsAndSoxAgrees()
    {
        var samples = Enumerable.Range(0, 1000).Select(i => (short)((i * 977) % 65536 - 32768)).ToArray();
        var path = Path.Combine(_dir, "round.wav");
        WavFile.Write(path, new Waveform(samples, 11025));
        var back = WavFile.Read(path);
        Assert.Equal(11025, back.SampleRate);
        Assert.Equal(samples, back.Samples);
        // sox reads our file as the same samples.
        var raw = Sox(path, "-t", "raw", "-e", "signed-integer", "-b", "16", "-L", "-");
        var soxSamples = Enumerable.Range(0, raw.Length / 2).Select(i => BitConverter.ToInt16(raw, 2 * i)).ToArray();
        Assert.Equal(samples, soxSamples);
    }

    [Fact]
    public void AudioWavWrittenBySoxReadsAsItsRawSamples()
    {
        var path = Path.Combine(_dir, "sine.wav");
        Sox("-n", "-r", "16000", "-b", "16", "-c", "1", "-e", "signed-integer", path, "synth", "0.05", "sine", "440", "vol", "0.5");
        var wave = WavFile.Read(path);
        Assert.Equal(16000, wave.SampleRate);
        Assert.Equal(800, wave.Samples.Length);
        var raw = Sox(path, "-t", "raw", "-e", "signed-integer", "-b", "16", "-L", "-");
        Assert.Equal(Enumerable.Range(0, raw.Length / 2).Select(i => BitConverter.ToInt16(raw, 2 * i)), wave.Samples);
        Assert.True(wave.Samples.Max(s => Math.Abs((int)s)) > 15000);
    }

    [Fact]
    public void AudioWavRefusesOtherFormatsWithOneLine()
    {
        var stereo = Path.Combine(_dir, "stereo.wav");
        Sox("-n", "-r", "8000", "-b", "16", "-c", "2", stereo, "synth", "0.01", "sine", "440");
        var e = Assert.Throws<GenSharpException>(() => WavFile.Read(stereo));
        Assert.Contains("2 channels are not supported", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        var eight = Path.Combine(_dir, "eight.wav");
        Sox("-n", "-r", "8000", "-b", "8", "-c", "1", eight, "synth", "0.01", "sine", "440");
        Assert.Contains("8-bit PCM is not supported", Assert.Throws<GenSharpException>(() => WavFile.Read(eight)).Message);
        var ulaw = Path.Combine(_dir, "ulaw.wav");
        Sox("-n", "-r", "8000", "-e", "u-law", "-c", "1", ulaw, "synth", "0.01", "sine", "440");
        Assert.Contains("μ-law", Assert.Throws<GenSharpException>(() => WavFile.Read(ulaw)).Message);
        var text = Path.Combine(_dir, "text.wav");
        File.WriteAllText(text, "hello, not audio");
        Assert.Contains("not a RIFF/WAVE file", Assert.Throws<GenSharpException>(() => WavFile.Read(text)).Message);
        Assert.Contains("not found", Assert.Throws<GenSharpException>(() => WavFile.Read(Path.Combine(_dir, "none.wav"))).Message);
    }

    [Fact]
    public void AudioWaveformTensorConversionRoundsAndClips()
    {
        using var t = torch.tensor(new float[] { 0, 0.5f, -1, 1.5f, -2, 1 / 32768f * 3.4f });
        var w = Waveform.FromTensor(t, 8000);
        Assert.Equal(new short[] { 0, 16384, -32768, 32767, -32768, 3 }, w.Samples);
        using var back = w.ToTensor();
        Assert.Equal(0.5f, back[1].item<float>());
    }

    [Fact]
    public void AudioDistancesAreZeroForTheSameAudioAndSeeALevelChange()
    {
        var s = new MelSettings();
        using var gen = new Generator(1);
        using var x = (torch.rand(new long[] { 4000 }, generator: gen) - 0.5) * 0.4;
        Assert.Equal(0, AudioDistance.LogSpectral(x, x, s), 9);
        Assert.Equal(0, AudioDistance.MelCepstral(x, x, s), 9);
        // Twice the amplitude: 4× the power in every bin, 10·log10 4 dB everywhere.
        using var louder = x * 2;
        Assert.Equal(10 * Math.Log10(4), AudioDistance.LogSpectral(x, louder, s), 3);
        // ... but the same shape of spectrum: only c₀ moves, which MCD leaves out.
        Assert.Equal(0, AudioDistance.MelCepstral(x, louder, s), 3);
        using var other = (torch.rand(new long[] { 4000 }, generator: gen) - 0.5) * 0.4;
        using var lowpassed = torch.nn.functional.avg_pool1d(other.view(1, 1, -1), 4, 1, 0).view(-1);
        Assert.True(AudioDistance.MelCepstral(x, lowpassed, s) > 1);
        // The DCT is orthonormal.
        using var d = AudioDistance.Dct(8);
        Assert.True(torch.matmul(d, d.t()).allclose(torch.eye(8), 1e-5, 1e-5));
    }

    [Fact]
    public void AudioSpectrogramPngShowsLowBandsAtTheBottom()
    {
        // Energy only in band 0: the bottom row is bright, the top row dark.
        using var logMel = torch.full(new long[] { 10, 30 }, -10f);
        logMel[0] = torch.tensor(0f);
        var path = Path.Combine(_dir, "spec.png");
        SpectrogramImage.Save(path, logMel, scale: 2);
        var (w, h, rgba) = Png.Decode(path);
        Assert.Equal((60, 20), (w, h));
        int Brightness(int y) => rgba[(y * w + 5) * 4] + rgba[(y * w + 5) * 4 + 1] + rgba[(y * w + 5) * 4 + 2];
        Assert.True(Brightness(h - 1) > 600);
        Assert.True(Brightness(0) < Brightness(h - 1));
    }
}
