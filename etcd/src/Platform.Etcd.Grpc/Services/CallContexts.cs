using Grpc.Core;
using Microsoft.AspNetCore.Http;
using Platform.Etcd.Server;

namespace Platform.Etcd.Grpc.Services;

/// <summary>Who is calling: the auth token and, on TLS with verified client certificates, the certificate's CN.</summary>
internal static class CallContexts
{
    /// <summary>etcd's gRPC metadata key for the auth token (rpctypes.TokenFieldNameGRPC).</summary>
    public const string TokenMetadataKey = "token";

    public static RequestContext FromGrpc(ServerCallContext context)
    {
        string? token = context.RequestHeaders.GetValue(TokenMetadataKey);
        string? commonName = CommonName(context.GetHttpContext());
        return token is null && commonName is null ? RequestContext.Anonymous : new RequestContext(token, commonName);
    }

    /// <summary>The gateway passes the token in the Authorization header and never uses the CN (etcd: "not supported").</summary>
    public static RequestContext FromGateway(HttpContext context)
    {
        string? token = context.Request.Headers.Authorization.FirstOrDefault();
        return token is null ? RequestContext.Anonymous : new RequestContext(token);
    }

    private static string? CommonName(HttpContext http)
    {
        System.Security.Cryptography.X509Certificates.X509Certificate2? certificate = http.Connection.ClientCertificate;
        if (certificate is null)
        {
            return null;
        }

        string name = certificate.GetNameInfo(System.Security.Cryptography.X509Certificates.X509NameType.SimpleName, forIssuer: false);
        return name.Length == 0 ? null : name;
    }
}
