using System.Text.Json.Nodes;
using GenSharp.Checkpoints;
using GenSharp.Data;
using GenSharp.Models;
using GenSharp.Runtime;

namespace GenSharp.Training;

/// <summary>
/// Training of a video family on Moving Fashion-MNIST (<c>--data moving-fashion-mnist</c>, the default, or
/// <c>moving-fashion-mnist:embedded</c> / a Fashion-MNIST folder): clips are made on the fly from the train images,
/// the clips of a step depending only on (seed, step); the clip geometry comes from the config.
/// </summary>
internal static class VideoTrainingRun
{
    public static TrainResult Run(TrainRequest req, IVideoFamily family, Checkpoint? saved, TrainerState? state,
        Device device, TrainingProgress progress, CancellationToken cancel)
    {
        if (req.ExcludeClass is not null) throw new ParameterException("exclude_class", "applies to image data, not to clips; drop it");
        if (req.Limit is not null) throw new ParameterException("limit", "applies to image data; drop it");
        var location = req.Data ?? saved?.Data.ImageLocation ?? MovingFashionMnist.Name;
        var config = TrainingRun.ConfigFor(family, req, saved);
        long seed = req.Seed ?? state?.Seed ?? 0;
        int batch = req.BatchSize ?? state?.BatchSize ?? family.DefaultBatchSize;
        var clips = MovingFashionMnist.Load(location, train: true, family.Data(config), batch, seed);
        if (saved?.Data.Source is { } before && before != clips.Source)
            throw new ParameterException("data", $"differs from what {req.OutDir} was trained on: it was trained on {before}, not {clips.Source}; resume without it, or start a new run in another folder");
        var geometry = family.Data(config);
        req.Log?.Invoke($"data: {clips.Source}: clips of {geometry.Frames} frames {geometry.FrameSize}×{geometry.FrameSize}, {geometry.Garments} garment(s), made from {clips.Count} images");
        var options = TrainingRun.NoSampleOptions(req, state, family, batch, seed, defaultSteps: 2000, checkpointEvery: 1000, validateEvery: 0);

        TorchRuntime.Seed(seed); // weights are initialised from this seed
        using var model = family.Build(config, device);
        var data = new JsonObject
        {
            ["source"] = clips.Source,
            ["location"] = location,
            ["images"] = clips.Count,
        };
        var manifest = Checkpoint.NewManifest(family, model.Config, data);
        IBatchSource batches = family.MotionTargets ? new ClassAndMotionClips(clips) : clips;
        var trainer = new Trainer(model.Trainable(), batches, options, req.OutDir, manifest, device, progress, parallel: req.Parallel);
        return trainer.Run(req.Resume, cancel);
    }
}
