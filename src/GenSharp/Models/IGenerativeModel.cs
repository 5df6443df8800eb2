using GenSharp.Training;

namespace GenSharp.Models;

/// <summary>A built model of some family: trainable, samplable, disposable.</summary>
public interface IGenerativeModel : ITrainable, IDisposable
{
    /// <summary>Registry name of its family, e.g. "vae".</summary>
    string Family { get; }

    /// <summary>The validated config it was built from.</summary>
    FamilyConfig Config { get; }

    /// <summary>Device the model lives on.</summary>
    Device Device { get; }
}
