// Marks selected symbol-version requirements of an ELF64 shared object as weak
// (VER_FLG_WEAK in .gnu.version_r), so the dynamic loader accepts the library on a system whose
// libstdc++ lacks that version. Used by the build for TorchSharp's native shim, which asks for
// GLIBCXX_3.4.32 (std::ios_base_library_init) that it never calls; Debian 12 ships 3.4.30.
// This file is compiled by MSBuild as an inline task (see Directory.Build.targets) and is also
// linked into the test project so the patch logic is tested on its own.
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

public static class ElfVersionPatch
{
    const uint ShtGnuVerneed = 0x6ffffffe;
    const ushort VerFlgWeak = 0x2;

    /// <summary>Result of one patch attempt.</summary>
    public enum Outcome { Patched, AlreadyWeak, NotReferenced, NotElf64 }

    /// <summary>
    /// Sets VER_FLG_WEAK on every version requirement named <paramref name="version"/>.
    /// Idempotent: a file already patched is left untouched (not even rewritten).
    /// </summary>
    public static Outcome MarkWeak(string path, string version)
    {
        byte[] b = File.ReadAllBytes(path);
        if (b.Length < 64 || b[0] != 0x7f || b[1] != (byte)'E' || b[2] != (byte)'L' || b[3] != (byte)'F'
            || b[4] != 2 /* ELFCLASS64 */ || b[5] != 1 /* little endian */)
            return Outcome.NotElf64;
        long shoff = (long)BitConverter.ToUInt64(b, 0x28);
        int shentsize = BitConverter.ToUInt16(b, 0x3A);
        int shnum = BitConverter.ToUInt16(b, 0x3C);
        bool found = false, changed = false;
        for (int i = 0; i < shnum; i++)
        {
            long sh = shoff + (long)i * shentsize;
            if (sh + 64 > b.Length) return Outcome.NotElf64;
            if (BitConverter.ToUInt32(b, (int)sh + 4) != ShtGnuVerneed) continue;
            long offset = (long)BitConverter.ToUInt64(b, (int)sh + 0x18);
            int link = (int)BitConverter.ToUInt32(b, (int)sh + 0x28);
            int count = (int)BitConverter.ToUInt32(b, (int)sh + 0x2C);
            long strOff = (long)BitConverter.ToUInt64(b, (int)(shoff + (long)link * shentsize) + 0x18);
            long vn = offset;
            for (int n = 0; n < count; n++)
            {
                int cnt = BitConverter.ToUInt16(b, (int)vn + 2);
                long aux = vn + BitConverter.ToUInt32(b, (int)vn + 8);
                for (int a = 0; a < cnt; a++)
                {
                    long name = strOff + BitConverter.ToUInt32(b, (int)aux + 8);
                    if (ReadCString(b, name) == version)
                    {
                        found = true;
                        ushort flags = BitConverter.ToUInt16(b, (int)aux + 4);
                        if ((flags & VerFlgWeak) == 0)
                        {
                            flags |= VerFlgWeak;
                            b[aux + 4] = (byte)(flags & 0xff);
                            b[aux + 5] = (byte)(flags >> 8);
                            changed = true;
                        }
                    }
                    uint next = BitConverter.ToUInt32(b, (int)aux + 12);
                    if (next == 0) break;
                    aux += next;
                }
                uint vnNext = BitConverter.ToUInt32(b, (int)vn + 12);
                if (vnNext == 0) break;
                vn += vnNext;
            }
        }
        if (!found) return Outcome.NotReferenced;
        if (!changed) return Outcome.AlreadyWeak;
        // Atomic replace: a half-written shared library would be worse than an unpatched one.
        string tmp = path + ".patch-tmp";
        File.WriteAllBytes(tmp, b);
        File.Replace(tmp, path, null);
        return Outcome.Patched;
    }

    /// <summary>True when some libstdc++ on the loader's usual paths defines <paramref name="version"/>.</summary>
    public static bool SystemProvides(string version)
    {
        string[] candidates =
        {
            "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6",
            "/usr/lib/aarch64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6",
        };
        byte[] needle = Encoding.ASCII.GetBytes(version + "\0");
        foreach (var c in candidates)
        {
            if (!File.Exists(c)) continue;
            byte[] data = File.ReadAllBytes(c);
            if (IndexOf(data, needle) >= 0) return true;
            return false; // first libstdc++ found is the one the loader uses
        }
        return false;
    }

    static string ReadCString(byte[] b, long at)
    {
        long end = at;
        while (end < b.Length && b[end] != 0) end++;
        return Encoding.ASCII.GetString(b, (int)at, (int)(end - at));
    }

    static int IndexOf(byte[] hay, byte[] needle)
    {
        for (int i = 0; i <= hay.Length - needle.Length; i++)
        {
            int j = 0;
            while (j < needle.Length && hay[i + j] == needle[j]) j++;
            if (j == needle.Length) return i;
        }
        return -1;
    }
}

#if !ELF_PATCH_NO_TASK
/// <summary>MSBuild task wrapper: patches each file when the system lacks the version.</summary>
public class GenSharpMarkElfVersionWeak : Microsoft.Build.Utilities.Task
{
    [Microsoft.Build.Framework.Required] public Microsoft.Build.Framework.ITaskItem[] Files { get; set; } = Array.Empty<Microsoft.Build.Framework.ITaskItem>();
    [Microsoft.Build.Framework.Required] public string Version { get; set; } = "";

    public override bool Execute()
    {
        if (ElfVersionPatch.SystemProvides(Version)) return true; // nothing needed on this system
        foreach (var item in Files)
        {
            var outcome = ElfVersionPatch.MarkWeak(item.ItemSpec, Version);
            if (outcome == ElfVersionPatch.Outcome.Patched)
                Log.LogMessage(Microsoft.Build.Framework.MessageImportance.High,
                    $"GenSharp: marked {Version} weak in {item.ItemSpec} (system libstdc++ lacks it)");
        }
        return true;
    }
}
#endif
