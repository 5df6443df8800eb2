using System.Globalization;

namespace GenSharp.LoadGen;

/// <summary>What the load generator reads about the server from /proc: resident memory and TCP connections.</summary>
static class ServerProbe
{
    /// <summary>VmRSS of a process in MB, or null when it has exited.</summary>
    public static double? RssMb(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return null;
    }

    /// <summary>
    /// Server-side TCP sockets on <paramref name="port"/> (local port = it) by state, from /proc/net/tcp and tcp6:
    /// (ESTABLISHED, CLOSE_WAIT). After the clients have closed, anything left is a connection the server keeps.
    /// </summary>
    public static (int Established, int CloseWait) Connections(int port)
    {
        int established = 0, closeWait = 0;
        foreach (var file in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            if (!File.Exists(file)) continue;
            foreach (var line in File.ReadLines(file).Skip(1))
            {
                // "  sl  local_address rem_address   st ..." with addresses as HEXIP:HEXPORT and the state in hex.
                var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (f.Length < 4) continue;
                var local = f[1];
                int colon = local.LastIndexOf(':');
                if (colon < 0 || int.Parse(local[(colon + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture) != port) continue;
                if (f[3] == "01") established++;
                else if (f[3] == "08") closeWait++;
            }
        }
        return (established, closeWait);
    }
}
