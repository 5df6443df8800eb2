namespace GenSharp.Data;

/// <summary>One utterance of the <see cref="AllisonCorpus"/>.</summary>
/// <param name="Id">Its id, the file's path below the corpus folder without <c>.wav</c> (e.g. <c>digits/7</c>).</param>
/// <param name="Path">The WAV file.</param>
/// <param name="Transcript">What is said.</param>
/// <param name="IsTest">Whether it is held out for testing.</param>
public sealed record AllisonUtterance(string Id, string Path, string Transcript, bool IsTest);
