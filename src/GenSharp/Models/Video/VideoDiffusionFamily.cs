using GenSharp.Data;

namespace GenSharp.Models.Video;

/// <summary>Registry entry for <c>videodiffusion</c>.</summary>
public sealed class VideoDiffusionFamily() : Family<VideoDiffusionConfig>(VideoDiffusionModel.FamilyName, (config, device) => new VideoDiffusionModel(config, device),
    "video diffusion on Moving Fashion-MNIST clips: factorised space-time UNet (2D convs per frame + temporal attention), class-conditional with classifier-free guidance, any scheduler; continuation and interpolation by masked-frame conditioning",
    null, defaultBatchSize: 8, defaultEmaDecay: 0.999), IVideoFamily
{
    public MovingFashionMnistOptions Data(FamilyConfig config) => ((VideoDiffusionConfig)config).Data;
}
