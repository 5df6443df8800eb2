using System.Diagnostics;
using GenSharp.Media.Audio;
using GenSharp.Models;
using Microsoft.AspNetCore.Http;

namespace GenSharp.Server;

/// <summary>
/// <c>POST /v1/audio/speech</c> in OpenAI's request shape: <c>model</c> (a tts checkpoint's folder name), <c>input</c>
/// (at most 4,096 characters), <c>voice</c> (required as OpenAI requires it; a tts model has the one voice it was trained
/// on, which every name gets — the <c>X-GenSharp-Voice</c> header says which), <c>speed</c> 0.25–4 and
/// <c>response_format</c>: <c>wav</c> (the default here: OpenAI's default mp3 needs an encoder), <c>pcm</c> (raw 16-bit
/// little-endian mono at the model's sample rate, 8 kHz for the Allison models — not OpenAI's 24 kHz), or mp3, opus,
/// aac, flac encoded by ffmpeg when it is installed. The body is the audio. A checkpoint with a <c>vocoder/</c> subfolder
/// speaks through that WaveNet (<see cref="Pipelines.SpeechVocoders"/>), otherwise through Griffin-Lim; the
/// <c>X-GenSharp-Vocoder</c> header says which.
/// </summary>
sealed class SpeechEndpoints(ModelRegistry models, ServerOptions options)
{
    /// <summary>OpenAI's limit on <c>input</c>.</summary>
    public const int MaxInputCharacters = 4096;

    public async Task Speech(HttpContext http)
    {
        var body = await RequestBody.ReadAsync(http, options.MaxRequestBodyBytes);
        var name = body.RequiredString("model");
        var input = body.RequiredString("input");
        if (string.IsNullOrWhiteSpace(input)) throw ApiException.Invalid("input", "input must not be empty", "invalid_value");
        if (input.Length > MaxInputCharacters) throw ApiException.Invalid("input", $"input has {input.Length} characters; at most {MaxInputCharacters}", "invalid_value");
        var voice = body.RequiredString("voice");
        double speed = body.Number("speed") ?? 1.0;
        if (speed is < 0.25 or > 4.0) throw ApiException.Invalid("speed", $"speed must be between 0.25 and 4.0, got {speed}", "invalid_value");
        var format = body.String("response_format") ?? "wav";
        if (format is not ("wav" or "pcm" or "mp3" or "opus" or "aac" or "flac"))
            throw ApiException.Invalid("response_format", $"response_format '{format}' is not supported; use wav, pcm, mp3, opus, aac or flac", "invalid_value");
        if (format is not ("wav" or "pcm") && !FfmpegAvailable.Value)
            throw ApiException.Invalid("response_format", $"response_format '{format}' needs ffmpeg on the server (apt-get install ffmpeg); wav and pcm need nothing", "unsupported_parameter");
        if (body.String("stream_format") is { } stream && stream != "audio")
            throw ApiException.Invalid("stream_format", $"stream_format '{stream}' is not supported; the whole file is sent at once", "unsupported_parameter");

        var cancel = http.RequestAborted;
        using var lease = await models.AcquireAsync(name, cancel);
        var m = lease.Model;
        var speech = m.Speech ?? throw ApiException.Invalid("model", $"model '{name}' does not speak; give a tts checkpoint (gensharp train tts)", "model_not_supported");
        Waveform audio;
        await m.Gate.WaitAsync(cancel);
        try
        {
            audio = await Task.Run(() =>
            {
                try
                {
                    // A WaveNet vocoder draws one sample at a time (seconds per second of speech): a client that goes
                    // away stops it at the next sample.
                    using var r = speech.Speak(input, new SpeechOptions
                    {
                        Speed = speed, Vocoder = m.Vocoder,
                        Progress = m.Vocoder is null ? null : (_, _) => cancel.ThrowIfCancellationRequested(),
                    });
                    return r.Audio;
                }
                catch (GenSharpException e) { throw ApiException.Invalid("input", e.Message, "invalid_value"); }
            }, cancel);
        }
        finally { m.Gate.Release(); }

        byte[] bytes = format switch
        {
            "wav" => WavFile.Encode(audio),
            "pcm" => Pcm(audio),
            _ => await Encode(audio, format, cancel),
        };
        http.Response.StatusCode = 200;
        http.Response.ContentType = format switch
        {
            "wav" => "audio/wav", "pcm" => "audio/pcm", "mp3" => "audio/mpeg", "opus" => "audio/ogg", "aac" => "audio/aac", _ => "audio/flac",
        };
        http.Response.Headers["X-GenSharp-Voice"] = $"the model's only voice (asked: {voice})";
        http.Response.Headers["X-GenSharp-Vocoder"] = m.Vocoder is null ? "griffin-lim" : "wavenet";
        http.Response.Headers["X-GenSharp-Sample-Rate"] = audio.SampleRate.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await http.Response.Body.WriteAsync(bytes, cancel);
    }

    static byte[] Pcm(Waveform audio)
    {
        var bytes = new byte[audio.Samples.Length * 2];
        for (int i = 0; i < audio.Samples.Length; i++)
            System.Buffers.Binary.BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(2 * i), audio.Samples[i]);
        return bytes;
    }

    static readonly Lazy<bool> FfmpegAvailable = new(() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => d.Length > 0 && File.Exists(Path.Combine(d, "ffmpeg"))));

    /// <summary>The WAV re-encoded by ffmpeg (standard input to standard output).</summary>
    static async Task<byte[]> Encode(Waveform audio, string format, CancellationToken cancel)
    {
        var (container, codec) = format switch
        {
            "mp3" => ("mp3", "libmp3lame"), "opus" => ("ogg", "libopus"), "aac" => ("adts", "aac"), _ => ("flac", "flac"),
        };
        var start = new ProcessStartInfo("ffmpeg") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-hide_banner", "-loglevel", "error", "-f", "wav", "-i", "pipe:0", "-c:a", codec, "-f", container, "pipe:1" })
            start.ArgumentList.Add(a);
        using var p = Process.Start(start) ?? throw new ApiException(500, "ffmpeg did not start", "response_format", "server_error");
        var output = new MemoryStream();
        var copy = p.StandardOutput.BaseStream.CopyToAsync(output, cancel);
        var errors = p.StandardError.ReadToEndAsync(cancel);
        await p.StandardInput.BaseStream.WriteAsync(WavFile.Encode(audio), cancel);
        p.StandardInput.Close();
        await copy;
        await p.WaitForExitAsync(cancel);
        if (p.ExitCode != 0) throw new ApiException(500, $"ffmpeg could not encode {format}: {(await errors).Trim()}", "response_format", "server_error");
        return output.ToArray();
    }
}
