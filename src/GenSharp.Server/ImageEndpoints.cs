using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using GenSharp.Media;
using GenSharp.Models;
using GenSharp.Models.StableDiffusion;
using GenSharp.Pipelines;
using GenSharp.Watermarking;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace GenSharp.Server;

/// <summary>
/// <c>POST /v1/images/generations</c>: draws images from an image checkpoint with <see cref="ImageSampling.Run"/> and
/// answers them as base64 PNGs whose <c>tEXt</c> chunk "parameters" records the settings. The prompt picks the class of
/// a conditional model by name, or is the prompt itself for a prompted model (<c>txt2img</c>, which also takes
/// <c>negative_prompt</c>); GenSharp extras <c>guidance_scale</c>, <c>steps</c> and <c>scheduler</c> set the
/// family's sampler options. A Stable Diffusion folder draws the prompt with <see cref="StableDiffusionPipeline"/> at
/// <c>size</c> "WxH" (any multiple its UNet allows; default its native size), with the same extras.
/// </summary>
sealed class ImageEndpoints(ModelRegistry models, ServerOptions options, ServerMetrics metrics, ILogger log)
{
    /// <summary>Sampling seeds torch's process-wide generator: one image request samples at a time, whatever the model.</summary>
    static readonly SemaphoreSlim Sampling = new(1, 1);

    /// <summary>The watermark key (read or created on the first image request), or null when the server marks nothing.</summary>
    readonly Lazy<WatermarkKey?> _key = new(() => !options.Watermark ? null
        : options.WatermarkKeyFile is { } file ? WatermarkKey.Load(file) : WatermarkKey.LoadOrCreate());

    public async Task Generations(HttpContext http)
    {
        var body = await RequestBody.ReadAsync(http, options.MaxRequestBodyBytes);
        var name = body.RequiredString("model");
        var prompt = body.RequiredString("prompt");
        int n = (int)(body.Integer("n", 1, options.MaxImages) ?? 1);
        switch (body.String("response_format"))
        {
            case null or "b64_json": break;
            case "url": throw ApiException.Invalid("response_format", "response_format 'url' is not supported: GenSharp keeps no image store; use b64_json", "unsupported_parameter");
            case var other: throw ApiException.Invalid("response_format", $"response_format '{other}' is not supported; use b64_json", "invalid_value");
        }
        if (body.String("output_format") is { } format && format != "png")
            throw ApiException.Invalid("output_format", $"output_format '{format}' is not supported; GenSharp answers PNG", "unsupported_parameter");
        string? size = body.String("size");
        long seed = body.Integer("seed") ?? Random.Shared.NextInt64(0, long.MaxValue);
        var values = new Dictionary<string, string>();
        if (body.Number("guidance_scale") is { } g) values["guidance_scale"] = Finite("guidance_scale", g).ToString("R", CultureInfo.InvariantCulture);
        if (body.Integer("steps", 1, 10_000) is { } steps) values["steps"] = steps.ToString(CultureInfo.InvariantCulture);
        if (body.String("scheduler") is { } scheduler) values["scheduler"] = scheduler;
        string? negative = body.String("negative_prompt");
        if (options.LogPrompts) log.LogInformation("image prompt for {Model}: {Prompt}", name, prompt);

        var cancel = http.RequestAborted;
        using var lease = await models.AcquireAsync(name, cancel);
        var m = lease.Model;
        if (m.StableDiffusion is { } sd)
        {
            var png = await StableDiffusionImages(sd, m, name, prompt, negative, n, seed, size, values, cancel);
            metrics.Images(n);
            await TextEndpoints.WriteJson(http, 200, new JsonObject
            {
                ["created"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
                ["data"] = new JsonArray(png.Select(p => (JsonNode)new JsonObject { ["b64_json"] = Convert.ToBase64String(p) }).ToArray()),
            });
            return;
        }
        var sampler = m.Image ?? throw ApiException.Invalid("model", m.Speech is not null ? $"model '{name}' is a speech model; use POST /v1/audio/speech"
            : $"model '{name}' is a text model; use POST /v1/chat/completions or /v1/completions", "model_not_supported");
        int side = ImageFamilyConfig.Of(sampler).ImageSize;
        if (size is not null && size != "auto" && size != $"{side}x{side}")
            throw ApiException.Invalid("size", $"size '{size}' is not supported by model '{name}': it draws {side}x{side} images (or leave size out)", "invalid_value");
        // A prompted model takes the prompt as it is; any other conditional model picks a class by name from it.
        bool prompted = sampler.DefaultSamplerOptions.Names.Contains("prompt");
        if (prompted) values["prompt"] = prompt;
        if (negative is not null)
        {
            if (!prompted) throw ApiException.Invalid("negative_prompt", $"model '{name}' takes no negative prompt (only prompted models such as txt2img do)", "unsupported_parameter");
            values["negative_prompt"] = negative;
        }
        SamplerOptions samplerOptions;
        try { samplerOptions = sampler.DefaultSamplerOptions.With(values, sampler.Family); }
        catch (ParameterException e) { throw ApiException.Invalid(e.Parameter, e.Message, "invalid_value"); }
        var (cls, className) = prompted ? (null, null) : ImagePrompt.PickClass(sampler.ConditionalClasses, prompt);

        byte[][] pngs;
        await m.Gate.WaitAsync(cancel);
        try
        {
            await Sampling.WaitAsync(cancel);
            var key = _key.Value;
            try { pngs = await Task.Run(() => Draw(sampler, n, seed, cls, samplerOptions, prompt, name, side, className, key), cancel); }
            finally { Sampling.Release(); }
        }
        finally { m.Gate.Release(); }
        metrics.Images(n);
        var data = new JsonArray(pngs.Select(png =>
        {
            var item = new JsonObject { ["b64_json"] = Convert.ToBase64String(png) };
            if (className is not null) item["revised_prompt"] = className;
            return (JsonNode)item;
        }).ToArray());
        await TextEndpoints.WriteJson(http, 200, new JsonObject { ["created"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(), ["data"] = data });
    }

    static byte[][] Draw(IImageSampler sampler, int n, long seed, int? cls, SamplerOptions samplerOptions, string prompt, string model, int side, string? className,
                         WatermarkKey? key)
    {
        using var samples = ImageSampling.Run(sampler, new ImageSamplingOptions { Count = n, Seed = seed, Class = cls, Sampler = samplerOptions, TreeRingKey = key });
        var pixel = key is not null && side >= PixelWatermark.MinSide ? new PixelWatermark(key) : null;
        var marks = string.Join(" + ", new[] { pixel is null ? null : "pixel", samples.TreeRing is null ? null : "tree-ring" }.Where(m => m is not null));
        var settings = string.Join(", ", sampler.RecordSampler(samples.Sampler).Where(kv => kv.Value is not null)
            .Select(kv => $"{Capitalise(kv.Key.Replace('_', ' '))}: {Convert.ToString(kv.Value, CultureInfo.InvariantCulture)}"));
        var pngs = new byte[n][];
        for (int i = 0; i < n; i++)
        {
            using var one = samples.Images.narrow(0, i, 1);
            using var pixels = ImageGrid.ToUint8(one);
            using var marked = pixel?.Embed(pixels);
            var png = ImageGrid.EncodePng(marked ?? pixels, columns: 1, padding: 0, scale: 1);
            // As Stable Diffusion UIs write it: the prompt, then "Key: value" settings on one line.
            var parameters = new StringBuilder(prompt).Append('\n');
            if (settings.Length > 0) parameters.Append(settings).Append(", ");
            parameters.Append($"Seed: {seed}, Batch index: {i}, Size: {side}x{side}, Model: {model}, Family: {sampler.Family}");
            if (cls is { } k) parameters.Append($", Class: {k} ({className})");
            parameters.Append(marks.Length > 0 ? $", Watermark: {marks} (key {key!.Id})" : ", Watermark: none");
            pngs[i] = PngText.Add(png, "parameters", parameters.ToString());
        }
        return pngs;
    }

    /// <summary>A Stable Diffusion folder's draw: the options from the request, one PNG per image, pixel-watermarked, with its settings in tEXt.</summary>
    async Task<byte[][]> StableDiffusionImages(StableDiffusionPipeline sd, ServedModel m, string name, string prompt, string? negative, int n, long seed,
                                               string? size, Dictionary<string, string> values, CancellationToken cancel)
    {
        int? width = null, height = null;
        if (size is not null && size != "auto")
        {
            var parts = size.Split('x');
            if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var w) ||
                !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var h) || w < 1 || h < 1 || w > 4096 || h > 4096)
                throw ApiException.Invalid("size", $"size '{size}' is not WIDTHxHEIGHT in pixels (e.g. 512x512, at most 4096 a side)", "invalid_value");
            int unit = sd.Vae.Config.Downscale * sd.Unet.Config.Downscale;
            if (w % unit != 0 || h % unit != 0)
                throw ApiException.Invalid("size", $"size '{size}': model '{name}' draws widths and heights that are multiples of {unit}", "invalid_value");
            (width, height) = (w, h);
        }
        var defaults = new StableDiffusionOptions();
        string scheduler = values.GetValueOrDefault("scheduler") ?? defaults.Scheduler;
        if (!GenSharp.Sampling.Schedulers.Names.Contains(scheduler))
            throw ApiException.Invalid("scheduler", $"unknown scheduler '{scheduler}'; choose one of: {string.Join(", ", GenSharp.Sampling.Schedulers.Names)}", "invalid_value");
        double guidance = values.TryGetValue("guidance_scale", out var g) ? double.Parse(g, CultureInfo.InvariantCulture) : defaults.GuidanceScale;
        if (guidance < 0) throw ApiException.Invalid("guidance_scale", $"guidance_scale must be ≥ 0, got {g}", "invalid_value");
        int steps = values.TryGetValue("steps", out var st) ? int.Parse(st, CultureInfo.InvariantCulture) : defaults.Steps;
        if (steps > 1000) throw ApiException.Invalid("steps", $"steps must be in [1, 1000] for a Stable Diffusion folder, got {steps}", "invalid_value");
        var options = defaults with
        {
            Prompt = prompt, NegativePrompt = negative ?? "", Count = n, Width = width, Height = height, Steps = steps,
            GuidanceScale = guidance, Scheduler = scheduler, Seed = seed,
        };
        await m.Gate.WaitAsync(cancel);
        try
        {
            await Sampling.WaitAsync(cancel);
            var key = _key.Value;
            try { return await Task.Run(() => DrawStableDiffusion(sd, options, name, key), cancel); }
            finally { Sampling.Release(); }
        }
        finally { m.Gate.Release(); }
    }

    static byte[][] DrawStableDiffusion(StableDiffusionPipeline sd, StableDiffusionOptions o, string model, WatermarkKey? key)
    {
        bool treeRing = false;
        if (key is not null) (o, treeRing) = StableDiffusionTreeRing.Apply(sd, o, key);
        using var initial = o.InitialNoise;
        using var images = sd.Generate(o);
        int h = (int)images.shape[2], w = (int)images.shape[3];
        var pixel = key is not null && Math.Min(w, h) >= PixelWatermark.MinSide ? new PixelWatermark(key) : null;
        var pngs = new byte[o.Count][];
        for (int i = 0; i < o.Count; i++)
        {
            using var one = images.narrow(0, i, 1);
            using var pixels = ImageGrid.ToUint8(one);
            using var marked = pixel?.Embed(pixels);
            var png = ImageGrid.EncodePng(marked ?? pixels, columns: 1, padding: 0, scale: 1);
            var parameters = new StringBuilder(o.Prompt).Append('\n');
            if (o.NegativePrompt.Length > 0) parameters.Append($"Negative prompt: {o.NegativePrompt}\n");
            parameters.Append(FormattableString.Invariant($"Steps: {o.Steps}, Sampler: {o.Scheduler}, CFG scale: {o.GuidanceScale}, Seed: {o.Seed}, Batch index: {i}, "));
            parameters.Append($"Size: {w}x{h}, Model: {model}, Family: stable-diffusion");
            var marks = string.Join(" + ", new[] { pixel is null ? null : "pixel", treeRing ? "tree-ring" : null }.Where(m => m is not null));
            parameters.Append(marks.Length > 0 ? $", Watermark: {marks} (key {key!.Id})" : ", Watermark: none");
            pngs[i] = PngText.Add(png, "parameters", parameters.ToString());
        }
        return pngs;
    }

    static string Capitalise(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];

    static double Finite(string name, double x) =>
        double.IsFinite(x) ? x : throw ApiException.Invalid(name, $"{name} must be a finite number", "invalid_value");
}
