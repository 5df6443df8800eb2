using GenSharp.Data;

namespace GenSharp.Models;

/// <summary>A family trained on clips of Moving Fashion-MNIST (<see cref="MovingFashionMnist"/>) instead of images or text.</summary>
public interface IVideoFamily : IFamily
{
    /// <summary>The clip geometry and motion the config trains on.</summary>
    MovingFashionMnistOptions Data(FamilyConfig config);

    /// <summary>
    /// True when training batches carry (B, 2) targets — the first garment's class and its motion direction
    /// (<see cref="ClassAndMotionClips"/>) — instead of the class alone.
    /// </summary>
    bool MotionTargets => false;
}
