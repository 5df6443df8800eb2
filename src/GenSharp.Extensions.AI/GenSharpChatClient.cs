using System.Runtime.CompilerServices;
using GenSharp.Checkpoints;
using GenSharp.Models;
using GenSharp.Sampling;
using GenSharp.Text;
using GenSharp.Text.Chat;
using Microsoft.Extensions.AI;
using GChatMessage = GenSharp.Text.Chat.ChatMessage;
using GChatRole = GenSharp.Text.Chat.ChatRole;
using MChatMessage = Microsoft.Extensions.AI.ChatMessage;
using MChatRole = Microsoft.Extensions.AI.ChatRole;

namespace GenSharp.Extensions.AI;

/// <summary>
/// <see cref="IChatClient"/> over a GenSharp <see cref="ILanguageModel"/> and <see cref="ITokenizer"/>
/// (a gpt checkpoint, or any other model behind those interfaces) with a chat template.
/// </summary>
/// <remarks>
/// <para>Honours <see cref="ChatOptions.Temperature"/>, <see cref="ChatOptions.TopP"/>,
/// <see cref="ChatOptions.TopK"/>, <see cref="ChatOptions.MaxOutputTokens"/>,
/// <see cref="ChatOptions.StopSequences"/> (added to the template's end-of-turn markers),
/// <see cref="ChatOptions.Seed"/> (without one, each call draws a fresh seed) and
/// <see cref="ChatOptions.Instructions"/> (a system message before the others); tools, response
/// formats and non-text contents are ignored. The conversation is rendered whole each call; when it
/// does not fit the model's context with room for the reply, the oldest turns are dropped (system
/// messages stay) and <see cref="ChatResponse.AdditionalProperties"/> gets <c>dropped_messages</c>.</para>
/// <para>Responses carry <see cref="ChatFinishReason.Stop"/> (end of turn or a stop sequence) or
/// <see cref="ChatFinishReason.Length"/> (the token limit), and <see cref="UsageDetails"/> with the prompt
/// tokens the model saw and the tokens it generated (stop-sequence tokens included).</para>
/// <para>Concurrency: one generation at a time per client. Calls made while another is running wait
/// for it (cancellation applies while waiting); a streaming call holds the client until its
/// enumeration ends or is disposed. Use one client per model instance; for parallel requests load the
/// model more than once.</para>
/// </remarks>
public sealed class GenSharpChatClient : IChatClient
{
    readonly ILanguageModel _model;
    readonly ITokenizer _tokenizer;
    readonly TextGenerator _generator;
    readonly SemaphoreSlim _gate = new(1, 1);
    readonly IDisposable? _owned;
    readonly ChatClientMetadata _metadata;

    /// <param name="model">The language model.</param>
    /// <param name="tokenizer">Its tokenizer.</param>
    /// <param name="template">How conversations are rendered (see <see cref="ChatTemplates"/>).</param>
    /// <param name="modelId">The model id reported in metadata and responses.</param>
    /// <param name="defaults">Decoding used where <see cref="ChatOptions"/> says nothing (default: temperature 0.7, 200 tokens).</param>
    public GenSharpChatClient(ILanguageModel model, ITokenizer tokenizer, IChatTemplate template, string modelId,
        GenerationOptions? defaults = null)
        : this(model, tokenizer, template, modelId, defaults, null) { }

    GenSharpChatClient(ILanguageModel model, ITokenizer tokenizer, IChatTemplate template, string modelId,
        GenerationOptions? defaults, IDisposable? owned)
    {
        _model = model;
        _tokenizer = tokenizer;
        _generator = new TextGenerator(model, tokenizer);
        Template = template;
        ModelId = modelId;
        Defaults = defaults ?? new GenerationOptions { Temperature = 0.7, MaxNewTokens = 200 };
        Defaults.Validate();
        _owned = owned;
        _metadata = new ChatClientMetadata(ProviderName, null, modelId);
    }

    /// <summary>Provider name in <see cref="ChatClientMetadata"/>.</summary>
    public const string ProviderName = "gensharp";

    /// <summary>
    /// Opens a GenSharp checkpoint or a Hugging Face model folder (as <c>gensharp chat</c> does) and owns the model: disposing the client
    /// disposes it. The template is <paramref name="template"/> (chatml, llama3, plain) or detected from the
    /// folder; <paramref name="notice"/> receives the fallback notice when one was needed.
    /// </summary>
    public static GenSharpChatClient Open(string path, string? template = null, TorchSharp.torch.Device? device = null,
        GenerationOptions? defaults = null, Action<string>? notice = null)
    {
        var loaded = Checkpoint.LoadTextModel(path, device ?? TorchSharp.torch.CPU);
        try
        {
            var (model, tokenizer) = (loaded.Model, loaded.Tokenizer);
            var selection = ChatTemplates.Select(template, loaded.Path);
            if (selection.Notice is not null) notice?.Invoke(selection.Notice);
            var id = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(path)));
            return new GenSharpChatClient(model, tokenizer, selection.Template, id, defaults, loaded);
        }
        catch
        {
            loaded.Dispose();
            throw;
        }
    }

    /// <summary>The chat template.</summary>
    public IChatTemplate Template { get; }

    /// <summary>The model id reported in metadata and responses.</summary>
    public string ModelId { get; }

    /// <summary>Decoding used where the request's options say nothing.</summary>
    public GenerationOptions Defaults { get; }

    /// <inheritdoc/>
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<MChatMessage> messages, ChatOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Inside the gate: tokenizers keep caches that are not safe to share between threads.
            var (prompt, gen) = Prepare(messages, options);
            var results = new GenerationResult[1];
            // Decoding is compute-bound: keep it off the caller's thread.
            await Task.Run(() => { foreach (var _ in _generator.Run(new[] { prompt.Text }, gen, results, cancellationToken)) { } },
                cancellationToken).ConfigureAwait(false);
            var r = results[0];
            var response = new ChatResponse(new MChatMessage(MChatRole.Assistant, r.Text.Trim()))
            {
                FinishReason = Finish(r),
                Usage = Usage(r),
                ModelId = ModelId,
                ResponseId = NewId(),
                CreatedAt = DateTimeOffset.UtcNow,
            };
            if (prompt.Dropped > 0) (response.AdditionalProperties ??= new())["dropped_messages"] = prompt.Dropped;
            return response;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc/>
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<MChatMessage> messages,
        ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Inside the gate: tokenizers keep caches that are not safe to share between threads.
            var (prompt, gen) = Prepare(messages, options);
            string responseId = NewId(), messageId = NewId();
            var results = new GenerationResult[1];
            using var pieces = _generator.Run(new[] { prompt.Text }, gen, results, cancellationToken).GetEnumerator();
            bool started = false;
            string pendingSpace = "";
            // Each decoding step runs on the thread pool; TextGenerator keeps its per-thread torch state within a step.
            while (await Task.Run(pieces.MoveNext, cancellationToken).ConfigureAwait(false))
            {
                var text = pieces.Current.Text;
                if (!started)
                {
                    text = text.TrimStart();
                    if (text.Length == 0) continue;
                    started = true;
                }
                // White space is held back until more text follows, so the streamed text is trimmed at both
                // ends exactly as the non-streaming reply is.
                text = pendingSpace + text;
                var body = text.TrimEnd();
                pendingSpace = text[body.Length..];
                if (body.Length > 0) yield return Update(body, responseId, messageId);
            }
            var r = results[0];
            var last = new ChatResponseUpdate(MChatRole.Assistant, new List<AIContent> { new UsageContent(Usage(r)) })
            {
                FinishReason = Finish(r),
                ModelId = ModelId,
                ResponseId = responseId,
                MessageId = messageId,
                CreatedAt = DateTimeOffset.UtcNow,
            };
            if (prompt.Dropped > 0) (last.AdditionalProperties ??= new())["dropped_messages"] = prompt.Dropped;
            yield return last;
        }
        finally
        {
            _gate.Release();
        }
    }

    ChatResponseUpdate Update(string text, string responseId, string messageId) => new(MChatRole.Assistant, text)
    {
        ModelId = ModelId,
        ResponseId = responseId,
        MessageId = messageId,
        CreatedAt = DateTimeOffset.UtcNow,
    };

    /// <inheritdoc/>
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null) return null;
        if (serviceType == typeof(ChatClientMetadata)) return _metadata;
        if (serviceType.IsInstanceOfType(this)) return this;
        if (serviceType.IsInstanceOfType(_model)) return _model;
        if (serviceType.IsInstanceOfType(_tokenizer)) return _tokenizer;
        if (serviceType.IsInstanceOfType(Template)) return Template;
        return null;
    }

    /// <summary>Disposes the model when the client opened it (<see cref="Open"/>).</summary>
    public void Dispose()
    {
        _owned?.Dispose();
        _gate.Dispose();
    }

    /// <summary>The fitted prompt and the decoding options of a request.</summary>
    (ChatPrompt Prompt, GenerationOptions Options) Prepare(IEnumerable<MChatMessage> messages, ChatOptions? options)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var conversation = new List<GChatMessage>();
        if (!string.IsNullOrWhiteSpace(options?.Instructions)) conversation.Add(GChatMessage.System(options.Instructions));
        foreach (var m in messages) conversation.Add(new GChatMessage(RoleOf(m.Role), m.Text));
        var gen = Defaults with
        {
            Temperature = options?.Temperature ?? Defaults.Temperature,
            TopP = options?.TopP ?? Defaults.TopP,
            TopK = options?.TopK ?? Defaults.TopK,
            MaxNewTokens = options?.MaxOutputTokens ?? Defaults.MaxNewTokens,
            Seed = options?.Seed ?? Random.Shared.NextInt64(),
            StopSequences = Defaults.StopSequences.Concat(options?.StopSequences ?? (IEnumerable<string>)Array.Empty<string>())
                .Concat(Template.StopSequences).Distinct().ToArray(),
        };
        gen.Validate();
        var prompt = ChatPrompt.Fit(Template, _tokenizer, conversation, ChatPrompt.Budget(_model.ContextLength, gen.MaxNewTokens));
        return (prompt, gen);
    }

    static GChatRole RoleOf(MChatRole role) =>
        role == MChatRole.System ? GChatRole.System
        : role == MChatRole.User ? GChatRole.User
        : role == MChatRole.Assistant ? GChatRole.Assistant
        : throw new NotSupportedException($"chat role '{role}' is not supported; GenSharp chat templates render system, user and assistant messages");

    // Only the token limit is Length; a stop sequence, and any end-of-sequence reason a tokenizer adds, is Stop.
    static ChatFinishReason Finish(GenerationResult r) => r.FinishReason == "length" ? ChatFinishReason.Length : ChatFinishReason.Stop;

    static UsageDetails Usage(GenerationResult r) => new()
    {
        InputTokenCount = r.PromptTokens,
        OutputTokenCount = r.GeneratedTokens,
        TotalTokenCount = r.PromptTokens + r.GeneratedTokens,
    };

    static string NewId() => Guid.NewGuid().ToString("N");
}
