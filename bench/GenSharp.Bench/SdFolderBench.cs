// Writes a random Stable Diffusion folder in the diffusers layout, for timing `gensharp sample DIR` without real weights:
//
//   dotnet run -c Release --project bench/GenSharp.Bench -- sd-folder OUT [--shape sd15|tiny] [--dtype f16|f32] [--seed S]
//
// --shape sd15 (default): the released Stable Diffusion 1.5 shapes and key names (runwayml/stable-diffusion-v1-5:
// UNet 859,520,964 parameters, VAE 83,653,863, CLIP ViT-L/14 text tower 123,060,480), written by GenSharp's own modules
// with their random initialisation; about 2.1 GB in F16. --shape tiny: SD's geometry (kl-f8 VAE, four UNet levels) at tiny
// widths (UNet 32/64/64/64 channels, VAE 16/32/32/32) with the test fixture's text encoder. The tokenizer is the test
// fixture's small CLIP BPE vocabulary (ids fit the 49,408-row embedding; tokenizing costs nothing next to the networks).
// The folder is for timing and memory only: its images are noise.
using System.Globalization;
using System.Text.Json.Nodes;
using GenSharp;
using GenSharp.Checkpoints;
using GenSharp.Models.StableDiffusion;
using GenSharp.Runtime;
using TorchSharp;
using static TorchSharp.torch;

static class SdFolderBench
{
    public static int Run(string[] args)
    {
        if (args.Length < 2 || args[1].StartsWith('-')) { Console.Error.WriteLine("usage: GenSharp.Bench sd-folder OUT [--shape sd15|tiny] [--dtype f16|f32] [--seed S]"); return 2; }
        string outDir = args[1], shape = "sd15", dtype = "f16";
        long seed = 0;
        for (int i = 2; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--shape": shape = args[++i]; break;
                case "--dtype": dtype = args[++i]; break;
                case "--seed": seed = long.Parse(args[++i], CultureInfo.InvariantCulture); break;
                default: Console.Error.WriteLine($"unknown option {args[i]}"); return 2;
            }
        }
        if (shape is not ("sd15" or "tiny") || dtype is not ("f16" or "f32")) { Console.Error.WriteLine("--shape sd15|tiny, --dtype f16|f32"); return 2; }
        TorchRuntime.EnsureReady();
        torch.manual_seed(seed);
        var fixture = Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "tests", "GenSharp.Tests", "Fixtures", "StableDiffusion", "tiny-sd");
        fixture = Path.GetFullPath(fixture);
        if (!Directory.Exists(fixture)) { Console.Error.WriteLine($"the test fixture {fixture} is missing"); return 1; }
        Directory.CreateDirectory(outDir);
        foreach (var part in new[] { "tokenizer", "scheduler" })
        {
            Directory.CreateDirectory(Path.Combine(outDir, part));
            foreach (var f in Directory.GetFiles(Path.Combine(fixture, part))) File.Copy(f, Path.Combine(outDir, part, Path.GetFileName(f)), true);
        }
        File.Copy(Path.Combine(fixture, "model_index.json"), Path.Combine(outDir, "model_index.json"), true);
        if (shape == "tiny")
        {
            // SD's geometry (a kl-f8 VAE, four UNet levels, attention on the first three) at tiny widths, so a 512×512 image has
            // SD's 64×64 latent and 4,096-token attention; the text encoder is the test fixture's (hidden size 32).
            File.Copy(Path.Combine(fixture, "text_encoder", "config.json"), Path.Combine(outDir, "text_encoder", "config.json").Also(p => Directory.CreateDirectory(Path.GetDirectoryName(p)!)), true);
            Write(Path.Combine(outDir, "unet", "config.json"), new JsonObject
            {
                ["_class_name"] = "UNet2DConditionModel", ["attention_head_dim"] = 2, ["block_out_channels"] = new JsonArray(32, 64, 64, 64),
                ["cross_attention_dim"] = 32, ["in_channels"] = 4, ["out_channels"] = 4, ["layers_per_block"] = 1, ["norm_num_groups"] = 8, ["sample_size"] = 64,
                ["down_block_types"] = new JsonArray("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
                ["up_block_types"] = new JsonArray("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
            });
            Write(Path.Combine(outDir, "vae", "config.json"), new JsonObject
            {
                ["_class_name"] = "AutoencoderKL", ["block_out_channels"] = new JsonArray(16, 32, 32, 32), ["in_channels"] = 3, ["latent_channels"] = 4,
                ["layers_per_block"] = 1, ["norm_num_groups"] = 8, ["out_channels"] = 3, ["sample_size"] = 512,
                ["down_block_types"] = new JsonArray("DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D"),
                ["up_block_types"] = new JsonArray("UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"),
            });
        }
        else
        {
            Write(Path.Combine(outDir, "text_encoder", "config.json"), new JsonObject
            {
                ["architectures"] = new JsonArray("CLIPTextModel"), ["model_type"] = "clip_text_model", ["vocab_size"] = 49408, ["hidden_size"] = 768,
                ["intermediate_size"] = 3072, ["num_hidden_layers"] = 12, ["num_attention_heads"] = 12, ["max_position_embeddings"] = 77,
                ["hidden_act"] = "quick_gelu", ["layer_norm_eps"] = 1e-5, ["projection_dim"] = 768, ["bos_token_id"] = 0, ["eos_token_id"] = 2, ["pad_token_id"] = 1,
            });
            Write(Path.Combine(outDir, "unet", "config.json"), new JsonObject
            {
                ["_class_name"] = "UNet2DConditionModel", ["act_fn"] = "silu", ["attention_head_dim"] = 8, ["block_out_channels"] = new JsonArray(320, 640, 1280, 1280),
                ["center_input_sample"] = false, ["cross_attention_dim"] = 768,
                ["down_block_types"] = new JsonArray("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
                ["downsample_padding"] = 1, ["flip_sin_to_cos"] = true, ["freq_shift"] = 0, ["in_channels"] = 4, ["layers_per_block"] = 2,
                ["mid_block_scale_factor"] = 1, ["norm_eps"] = 1e-5, ["norm_num_groups"] = 32, ["out_channels"] = 4, ["sample_size"] = 64,
                ["up_block_types"] = new JsonArray("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
            });
            Write(Path.Combine(outDir, "vae", "config.json"), new JsonObject
            {
                ["_class_name"] = "AutoencoderKL", ["act_fn"] = "silu", ["block_out_channels"] = new JsonArray(128, 256, 512, 512),
                ["down_block_types"] = new JsonArray("DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D"),
                ["in_channels"] = 3, ["latent_channels"] = 4, ["layers_per_block"] = 2, ["norm_num_groups"] = 32, ["out_channels"] = 3, ["sample_size"] = 512,
                ["up_block_types"] = new JsonArray("UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"),
            });
        }
        var type = dtype == "f16" ? ScalarType.Float16 : ScalarType.Float32;
        Save(new SdTextEncoder(SdTextEncoderConfig.Read(Path.Combine(outDir, "text_encoder", "config.json"))), Path.Combine(outDir, "text_encoder", "model.safetensors"), type);
        Save(new UNet2DCondition(UNetConfig.Read(Path.Combine(outDir, "unet", "config.json"))), Path.Combine(outDir, "unet", "diffusion_pytorch_model.safetensors"), type);
        Save(new AutoencoderKl(VaeConfig.Read(Path.Combine(outDir, "vae", "config.json"))), Path.Combine(outDir, "vae", "diffusion_pytorch_model.safetensors"), type);
        return 0;
    }

    static T Also<T>(this T x, Action<T> f) { f(x); return x; }

    static void Write(string path, JsonObject json)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, json.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>Every parameter as <paramref name="type"/>; norm weights (1-D, named norm…weight) are set to 1 as trained ones are near.</summary>
    static void Save(nn.Module module, string path, ScalarType type)
    {
        using (module)
        using (var _ = torch.no_grad())
        {
            var tensors = new Dictionary<string, Tensor>();
            long count = 0;
            foreach (var (name, p) in module.named_parameters())
            {
                if (name.Contains("norm") && p.dim() == 1) { if (name.EndsWith(".weight")) p.fill_(1); else p.zero_(); }
                if (!p.isfinite().all().item<bool>()) p.normal_(0, 0.02);
                tensors[name] = p.to(type);
                count += p.numel();
            }
            Safetensors.Save(path, tensors);
            foreach (var t in tensors.Values) t.Dispose();
            Console.WriteLine($"{path}: {tensors.Count} tensors, {count:N0} parameters, {new FileInfo(path).Length / 1e6:F0} MB");
        }
    }
}
