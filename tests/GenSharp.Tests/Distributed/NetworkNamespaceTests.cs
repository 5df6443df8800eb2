using System.Text.RegularExpressions;
using Xunit;
using Xunit.Abstractions;

namespace GenSharp.Tests;

/// <summary>
/// Two "machines" on this host: two network namespaces joined by a veth pair, each with its own address (and its own
/// host name). mpirun runs in the first and starts rank 1's OpenMPI daemon in the second through a launch agent
/// (what ssh is between real machines); the ranks talk over OpenMPI's TCP transport on the veth link only. The job
/// trains the same weights as one process with the whole batch. Needs root (namespaces); slow only for its setup.
/// </summary>
public class NetworkNamespaceTests(ITestOutputHelper output)
{
    [Fact, Trait("Category", "Slow")]
    public void TwoRanksInTwoNetworkNamespacesTrainOverTcp()
    {
        if (MpiJob.Missing(output)) return;
        if (MpiJob.FindOnPath("ip") is null || MpiJob.FindOnPath("unshare") is null)
        {
            output.WriteLine("SKIPPED: needs iproute2's ip and util-linux's unshare");
            return;
        }
        int id = Environment.ProcessId % 200 + 20;
        string nsA = $"gsnA{id}", nsB = $"gsnB{id}", vethA = $"gsvA{id}", vethB = $"gsvB{id}";
        string subnet = $"10.231.{id}", cidr = $"{subnet}.0/24", hostA = $"{subnet}.1", hostB = $"{subnet}.2";
        var dir = TestData.TempDir();
        var text = MpiJob.WriteText(dir);

        var add = MpiJob.Run("ip", $"netns add {nsA}", 30);
        if (add.ExitCode != 0)
        {
            output.WriteLine($"SKIPPED: cannot create a network namespace here (root and CAP_SYS_ADMIN needed): {add.Output.Trim()}");
            return;
        }
        try
        {
            foreach (var args in new[]
            {
                $"netns add {nsB}",
                $"link add {vethA} type veth peer name {vethB}",
                $"link set {vethA} netns {nsA}", $"link set {vethB} netns {nsB}",
                $"-n {nsA} addr add {hostA}/24 dev {vethA}", $"-n {nsB} addr add {hostB}/24 dev {vethB}",
                $"-n {nsA} link set {vethA} up", $"-n {nsB} link set {vethB} up",
                $"-n {nsA} link set lo up", $"-n {nsB} link set lo up",
            })
                MpiJob.Run("ip", args, 30).AssertSucceeded($"ip {args}");

            // The launch agent: mpirun calls it as `agent HOST COMMAND...` (like ssh); it runs the command in HOST's
            // namespace, under a host name of its own.
            var agent = Path.Combine(dir, "netns-agent.sh");
            File.WriteAllText(agent,
                "#!/bin/sh\n" +
                "host=$1; shift\n" +
                $"case \"$host\" in {hostA}) ns={nsA};; {hostB}) ns={nsB};; *) echo \"unknown host $host\" >&2; exit 1;; esac\n" +
                "echo \"$host\" >> \"$0.log\"\n" +
                "exec ip netns exec \"$ns\" unshare --uts sh -c \"hostname $ns; $*\"\n");
            if (OperatingSystem.IsLinux()) File.SetUnixFileMode(agent, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            var hosts = Path.Combine(dir, "hosts");
            File.WriteAllText(hosts, $"{hostA} slots=1\n{hostB} slots=1\n");

            string Args(string run) => $"train gpt --data \"{text}\" --steps 4 --batch-size 8 --seed 6 {MpiJob.TinyGpt} --threads 1 --out \"{Path.Combine(dir, run)}\"";
            MpiJob.RunCli(Args("one")).AssertSucceeded("one process");

            string options = $"--allow-run-as-root --hostfile \"{hosts}\" --mca plm_rsh_agent \"{agent}\" " +
                             $"--mca btl tcp,self --mca btl_tcp_if_include {cidr} --mca oob_tcp_if_include {cidr}";
            var job = MpiJob.Run("ip", $"netns exec {nsA} mpirun " + MpiJob.MpiArguments(2, Args("two") + " --distributed", options), 300);
            job.AssertSucceeded("2 ranks in 2 namespaces");
            output.WriteLine(job.Output);
            Assert.Contains(hostB, File.ReadAllText(agent + ".log"));   // rank 1's daemon was started in the second namespace

            // The gradients crossed the veth link.
            var stats = MpiJob.Run("ip", $"-n {nsA} -s link show {vethA}", 30).Output;
            var tx = Regex.Match(stats, @"TX:[^\n]*\n\s*(\d+)");
            Assert.True(tx.Success, stats);
            long bytes = long.Parse(tx.Groups[1].Value);
            output.WriteLine($"{vethA} sent {bytes} bytes");
            Assert.True(bytes > 100_000, $"only {bytes} bytes left {vethA}");

            double d = MpiJob.MaxDifference(Path.Combine(dir, "one"), Path.Combine(dir, "two"));
            output.WriteLine($"max |Δw| one process vs 2 namespaces: {d:G3}");
            Assert.True(d < 1e-5, $"the 2-namespace job differs from one process by {d}");
        }
        finally
        {
            MpiJob.Run("ip", $"netns del {nsA}", 30);
            MpiJob.Run("ip", $"netns del {nsB}", 30);   // deleting a namespace deletes its end of the veth pair, and the pair
        }
    }
}
