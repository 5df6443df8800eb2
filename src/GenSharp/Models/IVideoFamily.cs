using GenSharp.Data;

namespace GenSharp.Models;

/// <summary>A family trained on clips of Moving Fashion-MNIST (<see cref="MovingFashionMnist"/>) instead of images or text.</summary>
public interface IVideoFamily : IFamily
{
    /// <summary>The clip geometry and motion the config trains on.</summary>
    MovingFashionMnistOptions Data(FamilyConfig config);
}
