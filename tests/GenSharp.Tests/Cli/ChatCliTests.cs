using System.Text.RegularExpressions;
using Xunit;

namespace GenSharp.Tests;

/// <summary>The chat REPL end to end: a tiny gpt trained on plain-template dialogue, user lines fed on standard input.</summary>
[Collection("Console")]
public class ChatCliTests
{
    /// <summary>A tiny gpt checkpoint (context 64) trained a few steps on dialogue in the plain template's shape.</summary>
    internal static string TinyChatCheckpoint()
    {
        var dir = TestData.TempDir();
        var text = Path.Combine(dir, "dialogue.txt");
        var turns = new[] { "System: Be brief.\nUser: hi\nAssistant: hello there\n", "User: yo\nAssistant: ok then\n", "User: ok\nAssistant: fine\n" };
        File.WriteAllText(text, string.Concat(Enumerable.Range(0, 40).Select(i => turns[i % turns.Length])));
        var run = Path.Combine(dir, "run");
        var t = CliTests.Run("train", "gpt", "--data", text, "--out", run, "--steps", "6", "--batch-size", "4",
            "--set", "n_layer=1", "--set", "n_head=2", "--set", "n_embd=16", "--set", "block_size=64", "--set", "eval_interval=6", "--set", "eval_iters=1");
        Assert.True(t.Code == 0, t.Err);
        return run;
    }

    static (int Code, string Out, string Err) Chat(string stdin, params string[] args)
    {
        var saved = Console.In;
        Console.SetIn(new StringReader(stdin));
        try { return CliTests.Run(new[] { "chat" }.Concat(args).ToArray()); }
        finally { Console.SetIn(saved); }
    }

    static readonly Regex Stats = new(@"(\d+) prompt tokens, (\d+) generated, finish (stop|length), (\d+) messages in history");

    [Fact]
    public void ReplKeepsHistoryTrimsResetsAndExits()
    {
        var run = TinyChatCheckpoint();
        // Context 64, reply room 10 → prompt budget 54 tokens (characters). Turn 1 "User: hi\nAssistant:" is 19;
        // turn 2 adds the first reply and "User: yo\n" (≤ 50); turn 3 would be ≥ 61, so the first turn is dropped.
        var r = Chat("hi\nyo\n\nok\n/reset\nhi\n/nonsense\n/exit\nhi\n", run, "--max-tokens", "10", "--temperature", "0", "--stats");
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains("has no chat template", r.Err);                               // a GenSharp checkpoint: plain, with a notice
        Assert.Contains("'plain'", r.Err);
        var turns = Stats.Matches(r.Err).Select(m => (Prompt: int.Parse(m.Groups[1].Value), Generated: int.Parse(m.Groups[2].Value), History: int.Parse(m.Groups[4].Value))).ToList();
        Assert.Equal(4, turns.Count);                                                 // hi, yo, ok, hi; nothing after /exit
        Assert.Equal(19, turns[0].Prompt);
        Assert.True(turns[1].Prompt > turns[0].Prompt, "the second prompt holds the first turn");
        Assert.Equal(new[] { 2, 4, 4, 2 }, turns.Select(t => t.History));           // turn 3 dropped the oldest turn; /reset emptied it
        Assert.Contains("dropped the 2 oldest message(s)", r.Err);
        Assert.Equal(turns[0].Prompt, turns[3].Prompt);                              // after /reset the prompt is turn 1's again
        Assert.All(turns, t => Assert.InRange(t.Generated, 1, 10));
        Assert.Contains("unknown command /nonsense", r.Err);
        // Greedy decoding of the same prompt gives the same reply (the REPL prints one line per reply).
        var replies = r.Out.Split('\n').Select(l => l.StartsWith("> ") ? l[2..] : l).Where(l => l.Length > 0 && l != ">").ToList();
        Assert.True(replies.Count >= 4, r.Out);
        Assert.Equal(replies[0], replies[3]);
    }

    [Fact]
    public void EndOfInputEndsTheSessionAndTemplateIsChosenByFlag()
    {
        var run = TinyChatCheckpoint();
        var r = Chat("hi\n", run, "--max-tokens", "5", "--template", "plain", "--system", "Be brief.", "--stats", "--seed", "3");
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains("template plain (from --template)", r.Err);
        var m = Stats.Match(r.Err);
        Assert.True(m.Success, r.Err);
        Assert.Equal("System: Be brief.\nUser: hi\nAssistant:".Length, int.Parse(m.Groups[1].Value));
        var bad = Chat("hi\n", run, "--template", "alpaca");
        Assert.Equal(1, bad.Code);
        Assert.Contains("--template alpaca: expected one of chatml, llama3, plain", bad.Err);
        // A character the model's vocabulary lacks: a one-line error for that turn, the session goes on.
        var odd = Chat("héllo 🙂\nhi\n", run, "--max-tokens", "3", "--stats");
        Assert.Equal(0, odd.Code);
        Assert.Contains("not in the character vocabulary", odd.Err);
        Assert.Single(Stats.Matches(odd.Err));
    }

    [Fact]
    public void GptCheckpointSaysTemplateBudgetAndWhereABadCharacterIs()
    {
        var run = TinyChatCheckpoint();
        // Default --max-tokens 200 on a 64-token context: 32 kept for the reply, 32 for the conversation, so the
        // second turn (turn 1 alone is 19 tokens, plus its reply and "User: yo\n…") already drops the first.
        var r = Chat("hi\nyo\na héllo\n", run, "--temperature", "0", "--stats");
        Assert.True(r.Code == 0, r.Err);
        var lines = r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var template = Assert.Single(lines, l => l.Contains("template '"));
        Assert.Contains("'plain'", template);
        Assert.Contains("GenSharp checkpoint has no chat template", template);
        Assert.DoesNotContain("Jinja", r.Err);
        int budgetLine = Array.FindIndex(lines, l => l.Contains("the model's context is 64 tokens: 32 reserved for the reply (of 200 asked; at most half the context)"));
        Assert.True(budgetLine >= 0, r.Err);
        Assert.Contains("keeps at most 32 tokens", lines[budgetLine]);
        int firstStats = Array.FindIndex(lines, l => Stats.IsMatch(l));
        Assert.True(budgetLine < firstStats, "the budget is said before the first reply");
        var dropped = Assert.Single(lines, l => l.Contains("oldest message(s)"));
        Assert.Contains("32 reserved for the reply leave 32 for the conversation", dropped);
        Assert.True(Array.IndexOf(lines, dropped) > firstStats, "the drop is reported at the second turn");
        // The third message's "é" is at position 3 of what the user typed (the rendered prompt puts it much later).
        Assert.Contains(lines, l => l.StartsWith("gensharp chat: in your message: character 'é' (U+00E9) at position 3 ", StringComparison.Ordinal));
        Assert.Equal(2, Stats.Matches(r.Err).Count);
    }

    [Fact]
    public async Task ChatClientOpensACheckpointAsInTheReadme()
    {
        var run = TinyChatCheckpoint();
        var notices = new List<string>();
        using Microsoft.Extensions.AI.IChatClient client = GenSharp.Extensions.AI.GenSharpChatClient.Open(run, notice: notices.Add);
        Assert.Contains(notices, n => n.Contains("'plain'"));                        // detected from the folder, with its notice
        var options = new Microsoft.Extensions.AI.ChatOptions { Temperature = 0.7f, TopP = 0.9f, MaxOutputTokens = 12, Seed = 42, StopSequences = ["\n\n"] };
        var history = new List<Microsoft.Extensions.AI.ChatMessage>
        {
            new(Microsoft.Extensions.AI.ChatRole.System, "Be brief."), new(Microsoft.Extensions.AI.ChatRole.User, "hi"),
        };
        var reply = await client.GetResponseAsync(history, options);
        Assert.Equal("System: Be brief.\nUser: hi\nAssistant:".Length, reply.Usage!.InputTokenCount);
        Microsoft.Extensions.AI.ChatResponseExtensions.AddMessages(history, reply);
        history.Add(new(Microsoft.Extensions.AI.ChatRole.User, "ok"));
        var streamed = new System.Text.StringBuilder();
        await foreach (var update in client.GetStreamingResponseAsync(history, options)) streamed.Append(update.Text);
        var again = await client.GetResponseAsync(history, options);
        Assert.Equal(again.Text, streamed.ToString());
        Assert.Equal("run", Microsoft.Extensions.AI.ChatClientExtensions.GetService<Microsoft.Extensions.AI.ChatClientMetadata>(client)!.DefaultModelId);
    }
}
