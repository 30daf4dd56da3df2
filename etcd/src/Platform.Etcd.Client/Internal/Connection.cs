using Grpc.Core;

namespace Platform.Etcd.Client.Internal;

/// <summary>Whether a failed call may be sent again.</summary>
internal enum Retry
{
    /// <summary>Changes nothing: retry on <c>Unavailable</c>, on any endpoint.</summary>
    Read,

    /// <summary>Changes state: retry only when the request provably never reached a server.</summary>
    Write,
}

/// <summary>
/// The endpoints, endpoint selection, authentication token and the retry loop every call goes
/// through. Owns the channels.
/// </summary>
internal sealed class Connection : IAsyncDisposable
{
    private static readonly TimeSpan s_firstBackoff = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan s_maxBackoff = TimeSpan.FromSeconds(1);

    private readonly Endpoint[] _endpoints;
    private readonly EtcdClientOptions _options;
    private readonly CancellationTokenSource _closing = new();
    private readonly SemaphoreSlim _authGate = new(1, 1);
    private int _next = -1;

    // null: not authenticated yet; "": the cluster has auth disabled, send no token.
    private volatile string? _token;

    public Connection(EtcdClientOptions options)
    {
        if (options.Endpoints.Count == 0)
        {
            throw new ArgumentException("at least one endpoint is needed", nameof(options));
        }

        if ((options.Username is null) != (options.Password is null))
        {
            throw new ArgumentException("Username and Password go together", nameof(options));
        }

        _options = options;
        var endpoints = new List<Endpoint>();
        try
        {
            foreach (string endpoint in options.Endpoints)
            {
                endpoints.Add(Endpoint.Create(endpoint, options));
            }
        }
        catch
        {
            endpoints.ForEach(e => e.Dispose());
            throw;
        }

        _endpoints = [.. endpoints];
    }

    public IReadOnlyList<string> Addresses => [.. _endpoints.Select(e => e.Address)];

    public TimeProvider Time => _options.TimeProvider;

    /// <summary>Cancelled when the client is disposed; every stream loop links to it.</summary>
    public CancellationToken Closing => _closing.Token;

    private bool HasCredentials => _options.Username is not null;

    /// <summary>The endpoint named <paramref name="address"/> (null: none, let selection choose).</summary>
    public Endpoint? Resolve(string? address)
    {
        if (address is null)
        {
            return null;
        }

        string wanted = address.TrimEnd('/');
        return _endpoints.FirstOrDefault(e => string.Equals(e.Address, wanted, StringComparison.OrdinalIgnoreCase))
            ?? throw new ArgumentException($"{address} is not one of the client's endpoints ({string.Join(", ", Addresses)})", nameof(address));
    }

    /// <summary>Round-robin over the endpoints whose connection has not failed recently; any endpoint when all have.</summary>
    public Endpoint PickEndpoint()
    {
        long now = Time.GetTimestamp();
        uint start = (uint)Interlocked.Increment(ref _next);
        for (int i = 0; i < _endpoints.Length; i++)
        {
            Endpoint endpoint = _endpoints[(start + i) % _endpoints.Length];
            if (endpoint.IsHealthy(now))
            {
                return endpoint;
            }
        }

        return _endpoints[start % _endpoints.Length];
    }

    public void MarkUnhealthy(Endpoint endpoint) =>
        endpoint.MarkUnhealthy(Time.GetTimestamp() + (long)(_options.UnhealthyEndpointBackoff.TotalSeconds * Time.TimestampFrequency));

    /// <summary>
    /// Runs <paramref name="call"/> on an endpoint with the token attached, retrying as <paramref name="retry"/>
    /// allows (next endpoint first, backoff once every endpoint failed), re-authenticating once on a
    /// refused token, until <see cref="EtcdClientOptions.RequestTimeout"/> (when <paramref name="bounded"/>).
    /// </summary>
    public async Task<T> CallAsync<T>(
        Func<Endpoint, CallOptions, Task<T>> call,
        Retry retry,
        CancellationToken cancellationToken,
        Endpoint? pinned = null,
        bool bounded = true)
    {
        ObjectDisposedException.ThrowIf(_closing.IsCancellationRequested, this);
        using CancellationTokenSource? timeout = bounded && _options.RequestTimeout != Timeout.InfiniteTimeSpan
            ? new CancellationTokenSource(_options.RequestTimeout, Time)
            : null;
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _closing.Token, timeout?.Token ?? CancellationToken.None);
        CancellationToken token = linked.Token;
        bool reauthenticated = false;
        int failures = 0;
        Exception? last = null;
        while (true)
        {
            Endpoint endpoint = pinned ?? PickEndpoint();
            string? tokenUsed = null;
            try
            {
                tokenUsed = await GetTokenAsync(endpoint, token).ConfigureAwait(false);
                T result = await call(endpoint, Options(tokenUsed, token)).ConfigureAwait(false);
                endpoint.MarkHealthy();
                return result;
            }
            catch (RpcException exception) when (!token.IsCancellationRequested)
            {
                last = exception;
                if (HasCredentials && !reauthenticated && Errors.IsTokenProblem(exception))
                {
                    reauthenticated = true;
                    await InvalidateTokenAsync(tokenUsed, token).ConfigureAwait(false);
                    continue;
                }

                bool neverSent = Errors.NeverReachedServer(exception);
                if (neverSent)
                {
                    MarkUnhealthy(endpoint);
                }

                if (exception.StatusCode != StatusCode.Unavailable || (retry == Retry.Write && !neverSent))
                {
                    throw Errors.FromRpc(exception);
                }

                failures++;
            }
            catch (OperationCanceledException exception) when (IsTimeout(timeout, cancellationToken))
            {
                throw TimedOut(last ?? exception);
            }
            catch (OperationCanceledException exception) when (!token.IsCancellationRequested)
            {
                // Nobody cancelled: the stream was reset or the connection dropped under the call,
                // so the request may have reached the server.
                last = exception;
                if (retry == Retry.Write)
                {
                    throw new EtcdClientException(StatusCode.Unavailable, $"connection to {endpoint.Address} lost during the request: {exception.Message}", exception);
                }

                failures++;
            }

            if (pinned is not null || failures % _endpoints.Length == 0)
            {
                try
                {
                    await Task.Delay(Backoff(failures / Math.Max(1, pinned is null ? _endpoints.Length : 1)), Time, token).ConfigureAwait(false);
                }
                catch (OperationCanceledException exception) when (IsTimeout(timeout, cancellationToken))
                {
                    throw TimedOut(last ?? exception);
                }
            }
        }
    }

    /// <summary>Call options for a stream on <paramref name="endpoint"/>: the current token (authenticating first if needed).</summary>
    public async Task<(CallOptions Options, string? Token)> StreamOptionsAsync(Endpoint endpoint, CancellationToken cancellationToken)
    {
        string? token = await GetTokenAsync(endpoint, cancellationToken).ConfigureAwait(false);
        return (Options(token, cancellationToken), token);
    }

    /// <summary>Drops <paramref name="staleToken"/> so the next call authenticates again (no-op if another caller already did).</summary>
    public async Task InvalidateTokenAsync(string? staleToken, CancellationToken cancellationToken)
    {
        await _authGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_token == staleToken)
            {
                _token = null;
            }
        }
        finally
        {
            _authGate.Release();
        }
    }

    public bool CanReauthenticate => HasCredentials;

    public static TimeSpan Backoff(int round)
    {
        double milliseconds = s_firstBackoff.TotalMilliseconds * Math.Pow(2, Math.Min(round, 16));
        return TimeSpan.FromMilliseconds(Math.Min(milliseconds, s_maxBackoff.TotalMilliseconds));
    }

    public async ValueTask DisposeAsync()
    {
        if (_closing.IsCancellationRequested)
        {
            return;
        }

        await _closing.CancelAsync().ConfigureAwait(false);
        foreach (Endpoint endpoint in _endpoints)
        {
            endpoint.Dispose();
        }

        _authGate.Dispose();
    }

    private static CallOptions Options(string? token, CancellationToken cancellationToken) =>
        new(headers: string.IsNullOrEmpty(token) ? null : new Metadata { { "token", token } }, cancellationToken: cancellationToken);

    private static bool IsTimeout(CancellationTokenSource? timeout, CancellationToken caller) =>
        timeout is { IsCancellationRequested: true } && !caller.IsCancellationRequested;

    private EtcdClientException TimedOut(Exception last) =>
        new(StatusCode.DeadlineExceeded, $"etcd request timed out after {_options.RequestTimeout.TotalSeconds:0.###} s; last error: {last.Message}", last);

    private async Task<string?> GetTokenAsync(Endpoint endpoint, CancellationToken cancellationToken)
    {
        if (!HasCredentials)
        {
            return null;
        }

        string? token = _token;
        if (token is not null)
        {
            return token;
        }

        await _authGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_token is null)
            {
                // Authenticate on the endpoint the request goes to: etcd's default "simple" tokens
                // are only known to the member that issued them.
                try
                {
                    Api.AuthenticateResponse response = await endpoint.Auth.AuthenticateAsync(
                        new Api.AuthenticateRequest { Name = _options.Username, Password = _options.Password },
                        new CallOptions(cancellationToken: cancellationToken)).ConfigureAwait(false);
                    _token = response.Token;
                }
                catch (RpcException exception) when (exception.Status.Detail == Errors.AuthNotEnabled)
                {
                    _token = string.Empty;
                }
            }

            return _token;
        }
        finally
        {
            _authGate.Release();
        }
    }
}
