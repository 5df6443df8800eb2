using GenSharp.Runtime;
using System.Text.Json.Nodes;
using GenSharp.Sampling;

namespace GenSharp.Models.StableDiffusion;

/// <summary>
/// A Stable Diffusion 1.x / 2.x / SD-Turbo folder in the diffusers layout, loaded for sampling with GenSharp's own
/// schedulers: <c>model_index.json</c>, <c>tokenizer/</c> (CLIP BPE), <c>text_encoder/</c> (CLIPTextModel),
/// <c>unet/</c> (UNet2DConditionModel), <c>vae/</c> (AutoencoderKL), <c>scheduler/scheduler_config.json</c>
/// (the training noise schedule and the prediction type). Text-to-image, image-to-image, inpainting (any UNet by
/// re-imposing the known latents each step; 9-channel inpainting UNets get the mask and masked image as input), and
/// tiled VAE decoding that bounds the decoder's memory.
/// </summary>
public sealed class StableDiffusionPipeline : IDisposable
{
    StableDiffusionPipeline(string folder, ClipBpeTokenizer tokenizer, SdTextEncoder text, UNet2DCondition unet, AutoencoderKl vae,
        NoiseSchedule schedule, PredictionType prediction, Device device)
    {
        Folder = folder; Tokenizer = tokenizer; TextEncoder = text; Unet = unet; Vae = vae; Schedule = schedule; Prediction = prediction; Device = device;
    }

    /// <summary>The folder it was loaded from.</summary>
    public string Folder { get; }
    /// <summary>The CLIP tokenizer.</summary>
    public ClipBpeTokenizer Tokenizer { get; }
    /// <summary>The CLIP text encoder.</summary>
    public SdTextEncoder TextEncoder { get; }
    /// <summary>The denoising UNet.</summary>
    public UNet2DCondition Unet { get; }
    /// <summary>The autoencoder.</summary>
    public AutoencoderKl Vae { get; }
    /// <summary>The training noise schedule from scheduler_config.json.</summary>
    public NoiseSchedule Schedule { get; }
    /// <summary>ε (SD 1.x, SD 2 base, SD-Turbo) or v (SD 2.x 768).</summary>
    public PredictionType Prediction { get; }
    /// <summary>Where the networks live.</summary>
    public Device Device { get; }

    /// <summary>True when <paramref name="path"/> is a folder with a model_index.json.</summary>
    public static bool IsFolder(string path) => Directory.Exists(path) && File.Exists(Path.Combine(path, "model_index.json"));

    /// <summary>Loads every component (weights cast to float32) onto <paramref name="device"/>.</summary>
    public static StableDiffusionPipeline Load(string folder, Device? device = null)
    {
        device ??= torch.CPU;
        var index = SdJson.Read(Path.Combine(folder, "model_index.json"));
        foreach (var part in new[] { "tokenizer", "text_encoder", "unet", "vae", "scheduler" })
            if (index[part] is null) throw new GenSharpException($"{folder}/model_index.json has no \"{part}\"; GenSharp reads StableDiffusionPipeline folders (SD 1.x/2.x/Turbo)");
        var tokenizer = ClipBpeTokenizer.Load(Path.Combine(folder, "tokenizer"));
        var (schedule, prediction) = ReadScheduler(Path.Combine(folder, "scheduler", "scheduler_config.json"));
        SdTextEncoder? text = null; UNet2DCondition? unet = null; AutoencoderKl? vae = null;
        try
        {
            var tcfg = SdTextEncoderConfig.Read(Path.Combine(folder, "text_encoder", "config.json"));
            if (tokenizer.VocabSize > tcfg.VocabSize)
                throw new GenSharpException($"{folder}: the tokenizer has ids up to {tokenizer.VocabSize - 1} but the text encoder's vocab_size is {tcfg.VocabSize}");
            text = new SdTextEncoder(tcfg);
            DiffusersWeights.Load(text, DiffusersWeights.Files(Path.Combine(folder, "text_encoder"), "model"), "text_encoder");
            unet = new UNet2DCondition(UNetConfig.Read(Path.Combine(folder, "unet", "config.json")));
            DiffusersWeights.Load(unet, DiffusersWeights.Files(Path.Combine(folder, "unet"), "diffusion_pytorch_model"), "unet");
            vae = new AutoencoderKl(VaeConfig.Read(Path.Combine(folder, "vae", "config.json")));
            DiffusersWeights.Load(vae, DiffusersWeights.Files(Path.Combine(folder, "vae"), "diffusion_pytorch_model"), "vae");
            if (unet.Config.CrossAttentionDim != tcfg.HiddenSize)
                throw new GenSharpException($"{folder}: the UNet's cross_attention_dim {unet.Config.CrossAttentionDim} differs from the text encoder's hidden_size {tcfg.HiddenSize}");
            if (unet.Config.InChannels is not (4 or 9) && unet.Config.InChannels != vae.Config.LatentChannels)
                throw new GenSharpException($"{folder}: the UNet takes {unet.Config.InChannels} channels; expected the VAE's {vae.Config.LatentChannels} (or 9 for an inpainting UNet)");
            foreach (var m in new nn.Module[] { text, unet, vae }) { m.to(device); m.eval(); }
            return new StableDiffusionPipeline(folder, tokenizer, text, unet, vae, schedule, prediction, device);
        }
        catch { text?.Dispose(); unet?.Dispose(); vae?.Dispose(); throw; }
    }

    /// <summary>The training noise schedule and prediction type of a diffusers scheduler_config.json.</summary>
    public static (NoiseSchedule Schedule, PredictionType Prediction) ReadScheduler(string file)
    {
        var j = SdJson.Read(file);
        var kind = (SdJson.String(j, "beta_schedule", file) ?? "linear") switch
        {
            "scaled_linear" => BetaSchedule.ScaledLinear,
            "linear" => BetaSchedule.Linear,
            "squaredcos_cap_v2" => BetaSchedule.Cosine,
            var other => throw new GenSharpException($"{file}: beta_schedule \"{other}\" is not supported (scaled_linear, linear, squaredcos_cap_v2)"),
        };
        if (j["trained_betas"] is JsonNode tb && tb.ToJsonString() != "null")
            throw new GenSharpException($"{file}: trained_betas is not supported");
        var schedule = new NoiseSchedule(kind, SdJson.Int(j, "num_train_timesteps", file, 1000),
            SdJson.Double(j, "beta_start", file, 0.00085), SdJson.Double(j, "beta_end", file, 0.012));
        var prediction = (SdJson.String(j, "prediction_type", file) ?? "epsilon") switch
        {
            "epsilon" => PredictionType.Epsilon,
            "v_prediction" => PredictionType.V,
            var other => throw new GenSharpException($"{file}: prediction_type \"{other}\" is not supported (epsilon, v_prediction)"),
        };
        return (schedule, prediction);
    }

    /// <summary>The text encoder's hidden states for each prompt, (N, 77, D).</summary>
    public Tensor EncodePrompts(IReadOnlyList<string> prompts)
    {
        using var _ = torch.no_grad();
        var rows = prompts.SelectMany(p => Tokenizer.Encode(p).Select(i => (long)i)).ToArray();
        using var ids = torch.tensor(rows, new long[] { prompts.Count, Tokenizer.MaxLength }, device: Device);
        var (h, pooled) = TextEncoder.Forward(ids);
        pooled.Dispose();
        return h;
    }

    /// <summary>Draws <see cref="StableDiffusionOptions.Count"/> images; (N, 3, H, W) float32 in [0, 1] on the CPU.</summary>
    /// <param name="o">What to draw.</param>
    /// <param name="onStep">Called after each step with the step number (1-based) and the step count.</param>
    public Tensor Generate(StableDiffusionOptions o, Action<int, int>? onStep = null)
    {
        int n = o.Count;
        if (n < 1) throw new GenSharpException($"the image count must be ≥ 1, got {n}");
        if (o.GuidanceScale < 0) throw new GenSharpException($"guidance scale must be ≥ 0, got {o.GuidanceScale}");
        if (o.Strength is < 0 or > 1) throw new GenSharpException($"strength must be in [0, 1], got {o.Strength}");
        if (o.Mask is not null && o.Init is null) throw new GenSharpException("inpainting needs the image to inpaint (Init) beside the mask");
        int f = Vae.Config.Downscale, unit = f * Unet.Config.Downscale;
        int width = o.Width ?? (o.Init is not null ? (int)o.Init.shape[3] : Unet.Config.SampleSize * f);
        int height = o.Height ?? (o.Init is not null ? (int)o.Init.shape[2] : Unet.Config.SampleSize * f);
        if (width % unit != 0 || height % unit != 0 || width < unit || height < unit)
            throw new GenSharpException($"width and height must be positive multiples of {unit} for this model, got {width}×{height}");
        int h = height / f, w = width / f, z = Vae.Config.LatentChannels;
        var scheduler = Schedulers.Create(o.Scheduler, Schedule, Prediction, clipSample: false);
        scheduler.SetTimesteps(o.Steps);
        try
        {
            using var outer = torch.NewDisposeScope();
            using var _ = torch.no_grad();
            using var gen = new Generator((ulong)o.Seed);
            var cond = EncodePrompts(new[] { o.Prompt });
            var uncond = EncodePrompts(new[] { o.NegativePrompt });
            var noise = o.InitialNoise?.to(ScalarType.Float32).to(Device)
                ?? torch.randn(new long[] { n, z, h, w }, generator: gen).to(Device);
            if (!noise.shape.SequenceEqual(new long[] { n, z, h, w }))
                throw new GenSharpException($"the initial noise must be [{n}, {z}, {h}, {w}], got [{string.Join(", ", noise.shape)}]");
            var ts = scheduler.Timesteps.ToArray();
            Tensor x = noise;
            Tensor? known = null, latentMask = null, inpaintInput = null;
            if (o.Init is not null)
            {
                var init = Images(o.Init, n, height, width, "init");
                known = EncodeLatents(init * 2 - 1);                                                       // (N, 4, h, w), scaled
                if (o.Mask is not null)
                {
                    var mask = Images(o.Mask, n, height, width, "mask", channels: 1).gt(0.5).to(ScalarType.Float32);
                    // A latent cell is redrawn when any of its pixels is.
                    latentMask = nn.functional.max_pool2d(mask, f, f);                                      // (N, 1, h, w)
                    if (Unet.Config.InChannels == 9)
                        inpaintInput = torch.cat(new[] { latentMask, EncodeLatents((init * (1 - mask)) * 2 - 1) }, 1);
                }
                else
                {
                    if (o.Strength == 0) return init.cpu().MoveToOuterDisposeScope();
                    int k = Math.Max(1, (int)Math.Round(ts.Length * o.Strength));
                    if (k < ts.Length)
                    {
                        ts = ts[^k..];
                        scheduler.SetTimesteps(ts);
                        x = scheduler.AddNoise(known, noise, ts[0]);
                    }
                }
            }
            else if (Unet.Config.InChannels == 9)
                throw new GenSharpException("this is an inpainting UNet (9 input channels): give an image and a mask");
            var ctx = torch.cat(new[] { cond.expand(n, -1, -1), uncond.expand(n, -1, -1) }, 0);          // (2N, 77, D)
            for (int i = 0; i < ts.Length; i++)
            {
                using var scope = torch.NewDisposeScope();
                long t = ts[i];
                var eps = Guided(x, t, ctx, o.GuidanceScale, inpaintInput);
                var next = scheduler.Step(eps, t, x, gen).PrevSample;
                if (latentMask is not null && Unet.Config.InChannels != 9)
                {
                    // Keep the known region on the forward process's marginal at the next visited timestep (RePaint's known-part
                    // update, Lugmayr et al. 2022, eq. 8, without resampling); after the last step it is the clean latent.
                    long prev = scheduler.PreviousTimestep(t);
                    var knownNext = prev < 0 ? known! : scheduler.AddNoise(known!, noise, prev);
                    next = latentMask * next + (1 - latentMask) * knownNext;
                }
                if (!ReferenceEquals(x, noise)) x.Dispose();
                x = next.MoveToOuterDisposeScope();
                onStep?.Invoke(i + 1, ts.Length);
            }
            var images = DecodeLatents(x, o.VaeTile, o.VaeTileOverlap);
            var result = ((images + 1) / 2).clamp(0, 1);
            if (latentMask is not null)
            {
                var mask = Images(o.Mask!, n, height, width, "mask", channels: 1).gt(0.5).to(ScalarType.Float32);
                result = mask * result + (1 - mask) * Images(o.Init!, n, height, width, "init");      // the known pixels exactly
            }
            return result.cpu().MoveToOuterDisposeScope();
        }
        finally { (scheduler as IDisposable)?.Dispose(); }
    }

    /// <summary>The schedulers that solve the probability-flow ODE deterministically, so a mark in x_T reaches the image.</summary>
    public static bool CarriesTreeRing(string scheduler) => scheduler.Trim().ToLowerInvariant() is "ddim" or "euler" or "dpm++2m";

    /// <summary>Whether the model draws images of this size (default: its native size): sides that are positive multiples of 8·2^(levels−1).</summary>
    public bool FitsSize(int? width, int? height)
    {
        int f = Vae.Config.Downscale, unit = f * Unet.Config.Downscale;
        int w = width ?? Unet.Config.SampleSize * f, h = height ?? Unet.Config.SampleSize * f;
        return w >= unit && h >= unit && w % unit == 0 && h % unit == 0;
    }

    /// <summary>The shape (C, h, w) of one image's initial latent noise at the given (or native) pixel size.</summary>
    public long[] NoiseShape(int? width, int? height)
    {
        int f = Vae.Config.Downscale;
        return new long[] { Vae.Config.LatentChannels, (height ?? Unet.Config.SampleSize * f) / f, (width ?? Unet.Config.SampleSize * f) / f };
    }

    /// <summary>
    /// The initial latent noise <see cref="Generate"/> draws for <paramref name="count"/> images of shape
    /// <paramref name="shape"/> with this seed (the first draw of its generator), on the CPU.
    /// </summary>
    public static Tensor SeededNoise(long seed, int count, long[] shape)
    {
        using var gen = new Generator((ulong)seed);
        return torch.randn(new long[] { count }.Concat(shape).ToArray(), generator: gen);
    }

    /// <summary>
    /// DDIM inversion of images (N, 3, H, W) in [0, 1] back to the initial latent noise (N, 4, H/8, W/8): the VAE encoder's
    /// posterior mean, then <paramref name="steps"/> inverted DDIM steps under the empty prompt without guidance, as
    /// Tree-Ring detection does (Wen et al. 2023 §3). Returns x_T on the CPU.
    /// </summary>
    public Tensor InvertToNoise(Tensor images01, int steps)
    {
        if (Unet.Config.InChannels != Vae.Config.LatentChannels)
            throw new GenSharpException("an inpainting UNet cannot invert images (it needs a mask and a masked image); use the text-to-image folder");
        if (images01.dim() != 4 || images01.shape[1] != 3) throw new GenSharpException($"expected RGB images (N, 3, H, W), got [{string.Join(", ", images01.shape)}]");
        int unit = Vae.Config.Downscale * Unet.Config.Downscale;
        if (images01.shape[2] % unit != 0 || images01.shape[3] % unit != 0)
            throw new GenSharpException($"a {images01.shape[3]}×{images01.shape[2]} image cannot come from this model: sides are multiples of {unit}");
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        long n = images01.shape[0];
        var latents = EncodeLatents(images01.to(ScalarType.Float32).to(Device) * 2 - 1);
        var empty = EncodePrompts(new[] { "" }).expand(n, -1, -1);
        var xT = DdimInversion.Invert(latents, steps, Schedule, Prediction,
            (x, t) => Unet.Forward(x, torch.full(n, t, dtype: ScalarType.Int64, device: Device), empty));
        return xT.cpu().MoveToOuterDisposeScope();
    }

    Tensor Guided(Tensor x, long t, Tensor ctx, double w, Tensor? inpaintInput)
    {
        long n = x.shape[0];
        var input = inpaintInput is null ? x : torch.cat(new[] { x, inpaintInput }, 1);
        if (w == 1.0)
            return Unet.Forward(input, torch.full(n, t, dtype: ScalarType.Int64, device: Device), ctx.narrow(0, 0, n));
        var both = Unet.Forward(torch.cat(new[] { input, input }), torch.full(2 * n, t, dtype: ScalarType.Int64, device: Device), ctx);
        var parts = both.chunk(2, 0);
        return parts[1] + w * (parts[0] - parts[1]);                                                  // Ho & Salimans 2022, eq. 6
    }

    /// <summary>Pixels (N, 3, H, W) in [−1, 1] → scaled latents (posterior means × scaling_factor).</summary>
    public Tensor EncodeLatents(Tensor pixels)
    {
        using var _ = torch.no_grad();
        var (mean, logvar) = Vae.Encode(pixels.to(Device));
        logvar.Dispose();
        return mean * Vae.Config.ScalingFactor;
    }

    /// <summary>
    /// Scaled latents (N, 4, h, w) → pixels (N, 3, 8h, 8w) in about [−1, 1]. With <paramref name="tile"/> &gt; 0 the
    /// decoder runs on overlapping tiles of at most tile×tile latent cells and the tiles are blended with linear ramps
    /// over the overlap, so its activation memory is bounded by the tile, not the image. Each tile is decoded on its own
    /// (GroupNorm statistics and mid-block attention see the tile only), so tiled output differs slightly from a whole decode.
    /// </summary>
    public Tensor DecodeLatents(Tensor latents, int tile = 0, int overlap = 8)
    {
        using var _ = torch.no_grad();
        var z = latents.to(Device) / Vae.Config.ScalingFactor;
        long n = z.shape[0], h = z.shape[2], w = z.shape[3];
        if (tile <= 0 || (tile >= h && tile >= w)) return Vae.Decode(z);
        if (overlap < 0 || overlap >= tile) throw new GenSharpException($"the VAE tile overlap must be in [0, tile) = [0, {tile}), got {overlap}");
        int f = Vae.Config.Downscale;
        var output = torch.zeros(new long[] { n, Vae.Config.OutChannels, h * f, w * f }, device: Device);
        var weight = torch.zeros(new long[] { 1, 1, h * f, w * f }, device: Device);
        foreach (var (y0, ty) in Spans(h, tile, overlap))
            foreach (var (x0, tx) in Spans(w, tile, overlap))
            {
                using var scope = torch.NewDisposeScope();
                var piece = Vae.Decode(z.narrow(2, y0, ty).narrow(3, x0, tx));                        // (N, 3, ty·f, tx·f)
                var ramp = Ramp(ty * f, y0 > 0 ? overlap * f : 0, y0 + ty < h ? overlap * f : 0).view(1, 1, -1, 1)
                         * Ramp(tx * f, x0 > 0 ? overlap * f : 0, x0 + tx < w ? overlap * f : 0).view(1, 1, 1, -1);
                output.narrow(2, y0 * f, ty * f).narrow(3, x0 * f, tx * f).add_(piece * ramp);
                weight.narrow(2, y0 * f, ty * f).narrow(3, x0 * f, tx * f).add_(ramp);
            }
        return output / weight;
    }

    /// <summary>Tile starts and lengths covering 0..size with the given overlap.</summary>
    static List<(long Start, long Length)> Spans(long size, int tile, int overlap)
    {
        var spans = new List<(long, long)>();
        if (size <= tile) { spans.Add((0, size)); return spans; }
        long stride = tile - overlap;
        for (long s = 0; ; s += stride)
        {
            long start = Math.Min(s, size - tile);
            spans.Add((start, tile));
            if (start + tile >= size) break;
        }
        return spans;
    }

    /// <summary>A weight profile of <paramref name="length"/>: rising over the first <paramref name="rise"/>, falling over the last <paramref name="fall"/>, 1 between.</summary>
    Tensor Ramp(long length, long rise, long fall)
    {
        var r = new float[length];
        for (long i = 0; i < length; i++)
        {
            double v = 1;
            if (i < rise) v = Math.Min(v, (i + 0.5) / rise);
            if (i >= length - fall) v = Math.Min(v, (length - i - 0.5) / fall);
            r[i] = (float)v;
        }
        return torch.tensor(r, device: Device);
    }

    /// <summary>(1 or N, C, H, W) images in [0, 1] at the output size, expanded to N.</summary>
    Tensor Images(Tensor t, int n, int height, int width, string what, int channels = 3)
    {
        if (t.dim() != 4 || (t.shape[0] != 1 && t.shape[0] != n) || t.shape[1] != channels || t.shape[2] != height || t.shape[3] != width)
            throw new GenSharpException($"the {what} must be (1 or {n}, {channels}, {height}, {width}), got [{string.Join(", ", t.shape)}]");
        return t.to(ScalarType.Float32).to(Device).expand(n, -1, -1, -1);
    }

    /// <summary>Frees the networks.</summary>
    public void Dispose() { TextEncoder.Dispose(); Unet.Dispose(); Vae.Dispose(); }
}
