namespace GenSharp.Training;

/// <summary>A loss became NaN or infinite; nothing was saved after it.</summary>
public sealed class TrainingDivergedException(string message) : GenSharpException(message);
