using Platform.Flannel.Config;
using Platform.Flannel.Subnets;

namespace Platform.Flannel.Backends.Alloc;

/// <summary>
/// flannel's <c>alloc</c> backend (<c>pkg/backend/alloc</c>): only allocates a subnet. The lease carries
/// the PublicIP and no BackendType; the MTU is the interface's; peer leases need no action.
/// </summary>
internal sealed class AllocBackend : IBackend
{
    private readonly ExternalInterface _externalInterface;

    public AllocBackend(ExternalInterface externalInterface)
    {
        _externalInterface = externalInterface;
    }

    public Task<BackendRegistration> RegisterNetworkAsync(NetworkConfig config, CancellationToken cancellationToken) =>
        Task.FromResult(new BackendRegistration(BackendType: null, BackendData: null, _externalInterface.Mtu));

    public Task HandleLeasesAsync(LeaseBatch batch, SubnetLease ownLease, CancellationToken cancellationToken) => Task.CompletedTask;

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
