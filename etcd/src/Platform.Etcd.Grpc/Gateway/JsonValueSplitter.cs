using System.Text;

namespace Platform.Etcd.Grpc.Gateway;

/// <summary>
/// Splits a request body into successive top-level JSON values as they arrive, the way Go's
/// <c>json.Decoder</c> feeds the gateway's client-streaming calls (watch, keepalive): a client may
/// keep the body open and send another request later.
/// </summary>
internal sealed class JsonValueSplitter
{
    private readonly Stream _body;
    private readonly Decoder _decoder = Encoding.UTF8.GetDecoder();
    private readonly byte[] _bytes = new byte[4096];
    private readonly char[] _chars = new char[Encoding.UTF8.GetMaxCharCount(4096)];
    private readonly StringBuilder _current = new();
    private readonly Queue<string> _ready = new();
    private int _depth;
    private bool _inString;
    private bool _escaped;
    private bool _ended;

    public JsonValueSplitter(Stream body)
    {
        _body = body;
    }

    /// <summary>The next complete value, or null at the end of the body (trailing partial text is returned as is).</summary>
    public async Task<string?> NextAsync(CancellationToken cancellationToken)
    {
        while (_ready.Count == 0)
        {
            if (_ended)
            {
                return null;
            }

            int read = await _body.ReadAsync(_bytes, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                _ended = true;
                string rest = _current.ToString().Trim();
                _current.Clear();
                if (rest.Length > 0)
                {
                    _ready.Enqueue(rest);
                }

                continue;
            }

            int count = _decoder.GetChars(_bytes, 0, read, _chars, 0);
            Scan(_chars.AsSpan(0, count));
        }

        return _ready.Dequeue();
    }

    private void Scan(ReadOnlySpan<char> chars)
    {
        foreach (char c in chars)
        {
            if (_depth == 0 && !_inString && char.IsWhiteSpace(c))
            {
                continue;
            }

            _current.Append(c);
            if (_inString)
            {
                if (_escaped)
                {
                    _escaped = false;
                }
                else if (c == '\\')
                {
                    _escaped = true;
                }
                else if (c == '"')
                {
                    _inString = false;
                }

                continue;
            }

            switch (c)
            {
                case '"':
                    _inString = true;
                    break;
                case '{' or '[':
                    _depth++;
                    break;
                case '}' or ']':
                    _depth--;
                    if (_depth <= 0)
                    {
                        _depth = 0;
                        _ready.Enqueue(_current.ToString());
                        _current.Clear();
                    }

                    break;
                default:
                    break;
            }
        }
    }
}
