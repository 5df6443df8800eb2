using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using GenSharp.Media.Audio;
using GenSharp.Server;
using GenSharp.Training;
using OpenAI;
using OpenAI.Audio;
using Xunit;

namespace GenSharp.Tests;

/// <summary>
/// A server over a models folder holding a tiny tts checkpoint (<c>tts</c>), the same with a tiny WaveNet vocoder in its
/// <c>vocoder/</c> folder (<c>tts-wavenet</c>) and a tiny DCGAN (<c>gan</c>).
/// </summary>
public sealed class SpeechServerFixture : IAsyncLifetime
{
    public string ModelsDir { get; } = TestData.TempDir();
    public GenSharpServer Server { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var sets = new[] { "hidden=16", "encoder_conv_layers=1", "encoder_attention_layers=1", "decoder_layers=1", "postnet_layers=1", "eval_utterances=1" };
        TrainingRun.Run(new TrainRequest { Family = "tts", OutDir = Path.Combine(ModelsDir, "tts"), Data = TtsTests.MiniCorpus(4, 1), Steps = 1, BatchSize = 4, Sets = sets },
            TrainingProgress.Silent);
        ServerFixture.CopyDir(ServerFixture.TinyConditionalGan(), Path.Combine(ModelsDir, "gan"));
        // The same tts model with a WaveNet vocoder in its vocoder/ folder.
        ServerFixture.CopyDir(Path.Combine(ModelsDir, "tts"), Path.Combine(ModelsDir, "tts-wavenet"));
        TrainingRun.Run(new TrainRequest
        {
            Family = "wavenet", OutDir = Path.Combine(ModelsDir, "tts-wavenet", "vocoder"), Data = TtsTests.MiniCorpus(4, 1), Steps = 1, BatchSize = 2,
            Sets = TtsTests.TinyVocoderSets,
        }, TrainingProgress.Silent);
        Server = await GenSharpServer.StartAsync(new ServerOptions { ModelsDir = ModelsDir, Port = 0 });
        Http = new HttpClient { BaseAddress = Server.BaseAddress, Timeout = TimeSpan.FromMinutes(2) };
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync();
    }
}

/// <summary><c>POST /v1/audio/speech</c> through the official OpenAI SDK, and its refusals.</summary>
public class ServerSpeechTests(SpeechServerFixture f) : IClassFixture<SpeechServerFixture>
{
    AudioClient Audio(string model) =>
        new OpenAIClient(new ApiKeyCredential("x"), new OpenAIClientOptions { Endpoint = new Uri(f.Server.BaseAddress, "v1") }).GetAudioClient(model);

    [Fact]
    public void SdkGetsAWavOfTheSpokenText()
    {
        var wav = Audio("tts").GenerateSpeech("Thank you.", GeneratedSpeechVoice.Alloy,
            new SpeechGenerationOptions { ResponseFormat = GeneratedSpeechFormat.Wav }).Value.ToArray();
        var w = WavFile.Decode(wav);
        Assert.Equal(8000, w.SampleRate);
        Assert.True(w.Samples.Length >= 2 * 80);   // at least a frame per phoneme
        var fast = WavFile.Decode(Audio("tts").GenerateSpeech("Thank you.", GeneratedSpeechVoice.Alloy,
            new SpeechGenerationOptions { ResponseFormat = GeneratedSpeechFormat.Wav, SpeedRatio = 4f }).Value.ToArray());
        Assert.True(fast.Samples.Length <= w.Samples.Length);   // a one-step model's durations are mostly one frame already
        var pcm = Audio("tts").GenerateSpeech("Thank you.", GeneratedSpeechVoice.Alloy,
            new SpeechGenerationOptions { ResponseFormat = GeneratedSpeechFormat.Pcm }).Value.ToArray();
        Assert.Equal(2 * w.Samples.Length, pcm.Length);   // the same samples, raw (Griffin-Lim's default seed 0)
        Assert.Equal(w.Samples[^1], BitConverter.ToInt16(pcm, pcm.Length - 2));
    }

    async Task<(HttpStatusCode Status, string Body)> Post(JsonObject body)
    {
        using var r = await f.Http.PostAsync("/v1/audio/speech", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        return (r.StatusCode, await r.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task ACheckpointWithAVocoderFolderSpeaksThroughTheWaveNet()
    {
        var viaSdk = WavFile.Decode(Audio("tts-wavenet").GenerateSpeech("Thank you.", GeneratedSpeechVoice.Alloy,
            new SpeechGenerationOptions { ResponseFormat = GeneratedSpeechFormat.Wav }).Value.ToArray());
        var griffin = WavFile.Decode(Audio("tts").GenerateSpeech("Thank you.", GeneratedSpeechVoice.Alloy,
            new SpeechGenerationOptions { ResponseFormat = GeneratedSpeechFormat.Wav }).Value.ToArray());
        // The same spectrogram, frame for frame: the vocoder draws frames × hop samples, Griffin-Lim's inverse STFT (frames − 1) × hop.
        Assert.Equal(griffin.Samples.Length + 80, viaSdk.Samples.Length);
        Assert.NotEqual(griffin.Samples, viaSdk.Samples);                   // drawn by another vocoder
        foreach (var (model, vocoder) in new[] { ("tts-wavenet", "wavenet"), ("tts", "griffin-lim") })
        {
            using var response = await f.Http.PostAsync("/v1/audio/speech", new StringContent(
                $"{{\"model\":\"{model}\",\"input\":\"Goodbye.\",\"voice\":\"alloy\"}}", Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(vocoder, response.Headers.GetValues("X-GenSharp-Vocoder").Single());
        }
        var list = await f.Http.GetStringAsync("/v1/models");
        Assert.DoesNotContain("\"vocoder\"", list);                       // the vocoder folder is part of its model, not a model
    }

    [Fact]
    public async Task BadRequestsGetA400ThatSaysWhatToChange()
    {
        JsonObject Body() => new() { ["model"] = "tts", ["input"] = "Hello.", ["voice"] = "alloy" };
        var cases = new (Action<JsonObject> Change, string Expected)[]
        {
            (b => b.Remove("voice"), "voice is required"),
            (b => b["input"] = "  ", "input must not be empty"),
            (b => b["input"] = new string('a', 5000), "at most 4096"),
            (b => b["speed"] = 5, "speed must be between 0.25 and 4.0"),
            (b => b["response_format"] = "ogg", "use wav, pcm, mp3, opus, aac or flac"),
            (b => b["model"] = "gan", "does not speak"),
            (b => b["stream_format"] = "sse", "stream_format"),
        };
        foreach (var (change, expected) in cases)
        {
            var body = Body();
            change(body);
            var (status, text) = await Post(body);
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.Contains(expected, text);
        }
        var (s, t) = await Post(new JsonObject { ["model"] = "nope", ["input"] = "Hi.", ["voice"] = "alloy" });
        Assert.Equal(HttpStatusCode.NotFound, s);
        Assert.Contains("nope", t);
        // Images from the speech model are refused with the route to use.
        using var r = await f.Http.PostAsync("/v1/images/generations", new StringContent(new JsonObject { ["model"] = "tts", ["prompt"] = "x" }.ToJsonString(), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Contains("/v1/audio/speech", await r.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task ModelsListSaysSpeech()
    {
        var json = JsonNode.Parse(await f.Http.GetStringAsync("/v1/models"))!;
        var tts = json["data"]!.AsArray().Single(m => (string)m!["id"]! == "tts")!;
        Assert.Contains("speech", tts.ToJsonString());
    }

    [Fact]
    public async Task Mp3ComesThroughFfmpegWhenInstalled()
    {
        var (status, _) = await Post(new JsonObject { ["model"] = "tts", ["input"] = "Hello.", ["voice"] = "nova", ["response_format"] = "flac" });
        bool ffmpeg = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => File.Exists(Path.Combine(d, "ffmpeg")));
        Assert.Equal(ffmpeg ? HttpStatusCode.OK : HttpStatusCode.BadRequest, status);
        if (!ffmpeg) return;
        var bytes = Audio("tts").GenerateSpeech("Hello.", GeneratedSpeechVoice.Nova, new SpeechGenerationOptions { ResponseFormat = GeneratedSpeechFormat.Mp3 }).Value.ToArray();
        Assert.True(bytes.Length > 100);
        Assert.True((bytes[0] == 'I' && bytes[1] == 'D' && bytes[2] == '3') || (bytes[0] == 0xFF && (bytes[1] & 0xE0) == 0xE0), "an MP3 stream");
    }
}
