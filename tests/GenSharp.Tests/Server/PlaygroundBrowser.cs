using System.Diagnostics;
using Microsoft.Playwright;
using Xunit;

namespace GenSharp.Tests;

/// <summary>
/// Debian's chromium driven by Playwright (never a downloaded browser). Installs <c>chromium</c> with apt when it is
/// missing and the tests run as root, so <c>dotnet test</c> alone works on a fresh machine.
/// </summary>
public sealed class PlaygroundBrowser : IAsyncLifetime
{
    const string Chromium = "/usr/bin/chromium";

    IPlaywright _playwright = null!;
    public IBrowser Browser { get; private set; } = null!;

    static bool IsRoot => Environment.UserName == "root";

    public async Task InitializeAsync()
    {
        if (!File.Exists(Chromium))
        {
            Assert.True(IsRoot, $"{Chromium} is missing: install Debian's chromium (apt-get install -y chromium)");
            var apt = Process.Start(new ProcessStartInfo("sh", new[] { "-c", "apt-get update && apt-get install -y chromium" })
            {
                RedirectStandardOutput = true, RedirectStandardError = true,
                Environment = { ["DEBIAN_FRONTEND"] = "noninteractive" },
            })!;
            var output = apt.StandardOutput.ReadToEndAsync();
            var errors = await apt.StandardError.ReadToEndAsync();
            await apt.WaitForExitAsync();
            Assert.True(apt.ExitCode == 0 && File.Exists(Chromium), $"apt-get install chromium failed: {errors}{await output}");
        }
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            // Chromium's sandbox refuses to run as root.
            Args = IsRoot ? new[] { "--no-sandbox" } : Array.Empty<string>(),
        });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null) await Browser.DisposeAsync();
        _playwright?.Dispose();
    }
}
