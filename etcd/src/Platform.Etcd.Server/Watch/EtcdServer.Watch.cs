namespace Platform.Etcd.Server;

internal sealed partial class EtcdServer
{
    public IWatchStream OpenWatchStream(RequestContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        ThrowIfUnavailable();
        return _watchHub.OpenStream(context);
    }
}
