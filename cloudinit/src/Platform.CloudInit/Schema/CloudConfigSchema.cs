using static Platform.CloudInit.Schema.SchemaNode;
using Kind = Platform.CloudInit.Schema.SchemaKind;

namespace Platform.CloudInit.Schema;

/// <summary>
/// The whole coreos-cloudinit cloud-config schema (final master of coreos/coreos-cloudinit,
/// <c>config/*.go</c>): field names, kinds, <c>valid</c> patterns, <c>deprecated</c> notes and the
/// <c>env</c> names sections are written out as. Field order is Go's declaration order, which is
/// the order of <c>Environment=</c> lines in drop-ins.
/// </summary>
public static class CloudConfigSchema
{
    private const string Etcd2OptionsForEtcd = "etcd2 options no longer work for etcd";
    private const string RemoteFetch = "trying to fetch from a remote endpoint introduces too many intermittent errors";

    /// <summary>The root: ssh_authorized_keys, coreos, write_files, hostname, users, manage_etc_hosts.</summary>
    public static SchemaNode Root { get; } = Build();

    /// <summary><c>coreos.etcd2</c>: etcd 2 flags as <c>ETCD_*</c> variables.</summary>
    public static SchemaNode Etcd2 => Root.Child("coreos")!.Child("etcd2")!;

    /// <summary><c>coreos.flannel</c>: flanneld flags as <c>FLANNELD_*</c> variables.</summary>
    public static SchemaNode Flannel => Root.Child("coreos")!.Child("flannel")!;

    private static SchemaNode Build()
    {
        SchemaNode etcd = Struct(
            "etcd",
            Field("addr", Kind.String, "ETCD_ADDR"),
            Field("advertise_client_urls", Kind.String, "ETCD_ADVERTISE_CLIENT_URLS", deprecated: Etcd2OptionsForEtcd),
            Field("bind_addr", Kind.String, "ETCD_BIND_ADDR"),
            Field("ca_file", Kind.String, "ETCD_CA_FILE"),
            Field("cert_file", Kind.String, "ETCD_CERT_FILE"),
            Field("cluster_active_size", Kind.Int, "ETCD_CLUSTER_ACTIVE_SIZE"),
            Field("cluster_remove_delay", Kind.Float, "ETCD_CLUSTER_REMOVE_DELAY"),
            Field("cluster_sync_interval", Kind.Float, "ETCD_CLUSTER_SYNC_INTERVAL"),
            Field("cors", Kind.String, "ETCD_CORS"),
            Field("data_dir", Kind.String, "ETCD_DATA_DIR"),
            Field("discovery", Kind.String, "ETCD_DISCOVERY"),
            Field("discovery_fallback", Kind.String, "ETCD_DISCOVERY_FALLBACK", deprecated: Etcd2OptionsForEtcd),
            Field("discovery_srv", Kind.String, "ETCD_DISCOVERY_SRV", deprecated: Etcd2OptionsForEtcd),
            Field("discovery_proxy", Kind.String, "ETCD_DISCOVERY_PROXY", deprecated: Etcd2OptionsForEtcd),
            Field("election_timeout", Kind.Int, "ETCD_ELECTION_TIMEOUT", deprecated: Etcd2OptionsForEtcd),
            Field("force_new_cluster", Kind.Bool, "ETCD_FORCE_NEW_CLUSTER", deprecated: Etcd2OptionsForEtcd),
            Field("graphite_host", Kind.String, "ETCD_GRAPHITE_HOST"),
            Field("heartbeat_interval", Kind.Int, "ETCD_HEARTBEAT_INTERVAL", deprecated: Etcd2OptionsForEtcd),
            Field("http_read_timeout", Kind.Float, "ETCD_HTTP_READ_TIMEOUT"),
            Field("http_write_timeout", Kind.Float, "ETCD_HTTP_WRITE_TIMEOUT"),
            Field("initial_advertise_peer_urls", Kind.String, "ETCD_INITIAL_ADVERTISE_PEER_URLS", deprecated: Etcd2OptionsForEtcd),
            Field("initial_cluster", Kind.String, "ETCD_INITIAL_CLUSTER", deprecated: Etcd2OptionsForEtcd),
            Field("initial_cluster_state", Kind.String, "ETCD_INITIAL_CLUSTER_STATE", deprecated: Etcd2OptionsForEtcd),
            Field("initial_cluster_token", Kind.String, "ETCD_INITIAL_CLUSTER_TOKEN", deprecated: Etcd2OptionsForEtcd),
            Field("key_file", Kind.String, "ETCD_KEY_FILE"),
            Field("listen_client_urls", Kind.String, "ETCD_LISTEN_CLIENT_URLS", deprecated: Etcd2OptionsForEtcd),
            Field("listen_peer_urls", Kind.String, "ETCD_LISTEN_PEER_URLS", deprecated: Etcd2OptionsForEtcd),
            Field("max_result_buffer", Kind.Int, "ETCD_MAX_RESULT_BUFFER"),
            Field("max_retry_attempts", Kind.Int, "ETCD_MAX_RETRY_ATTEMPTS"),
            Field("max_snapshots", Kind.Int, "ETCD_MAX_SNAPSHOTS", deprecated: Etcd2OptionsForEtcd),
            Field("max_wals", Kind.Int, "ETCD_MAX_WALS", deprecated: Etcd2OptionsForEtcd),
            Field("name", Kind.String, "ETCD_NAME"),
            Field("peer_addr", Kind.String, "ETCD_PEER_ADDR"),
            Field("peer_bind_addr", Kind.String, "ETCD_PEER_BIND_ADDR"),
            Field("peer_ca_file", Kind.String, "ETCD_PEER_CA_FILE"),
            Field("peer_cert_file", Kind.String, "ETCD_PEER_CERT_FILE"),
            Field("peer_election_timeout", Kind.Int, "ETCD_PEER_ELECTION_TIMEOUT"),
            Field("peer_heartbeat_interval", Kind.Int, "ETCD_PEER_HEARTBEAT_INTERVAL"),
            Field("peer_key_file", Kind.String, "ETCD_PEER_KEY_FILE"),
            Field("peers", Kind.String, "ETCD_PEERS"),
            Field("peers_file", Kind.String, "ETCD_PEERS_FILE"),
            Field("proxy", Kind.String, "ETCD_PROXY", deprecated: Etcd2OptionsForEtcd),
            Field("retry_interval", Kind.Float, "ETCD_RETRY_INTERVAL"),
            Field("snapshot", Kind.Bool, "ETCD_SNAPSHOT"),
            Field("snapshot_count", Kind.Int, "ETCD_SNAPSHOTCOUNT"),
            Field("trace", Kind.String, "ETCD_TRACE"),
            Field("verbose", Kind.Bool, "ETCD_VERBOSE"),
            Field("very_verbose", Kind.Bool, "ETCD_VERY_VERBOSE"),
            Field("very_very_verbose", Kind.Bool, "ETCD_VERY_VERY_VERBOSE"));

        SchemaNode etcd2 = Struct(
            "etcd2",
            Field("advertise_client_urls", Kind.String, "ETCD_ADVERTISE_CLIENT_URLS"),
            Field("ca_file", Kind.String, "ETCD_CA_FILE", deprecated: "ca_file obsoleted by trusted_ca_file and client_cert_auth"),
            Field("cert_file", Kind.String, "ETCD_CERT_FILE"),
            Field("client_cert_auth", Kind.Bool, "ETCD_CLIENT_CERT_AUTH"),
            Field("cors", Kind.String, "ETCD_CORS"),
            Field("data_dir", Kind.String, "ETCD_DATA_DIR"),
            Field("debug", Kind.Bool, "ETCD_DEBUG"),
            Field("discovery", Kind.String, "ETCD_DISCOVERY"),
            Field("discovery_fallback", Kind.String, "ETCD_DISCOVERY_FALLBACK"),
            Field("discovery_srv", Kind.String, "ETCD_DISCOVERY_SRV"),
            Field("discovery_proxy", Kind.String, "ETCD_DISCOVERY_PROXY"),
            Field("election_timeout", Kind.Int, "ETCD_ELECTION_TIMEOUT"),
            Field("enable_pprof", Kind.Bool, "ETCD_ENABLE_PPROF"),
            Field("force_new_cluster", Kind.Bool, "ETCD_FORCE_NEW_CLUSTER"),
            Field("heartbeat_interval", Kind.Int, "ETCD_HEARTBEAT_INTERVAL"),
            Field("initial_advertise_peer_urls", Kind.String, "ETCD_INITIAL_ADVERTISE_PEER_URLS"),
            Field("initial_cluster", Kind.String, "ETCD_INITIAL_CLUSTER"),
            Field("initial_cluster_state", Kind.String, "ETCD_INITIAL_CLUSTER_STATE"),
            Field("initial_cluster_token", Kind.String, "ETCD_INITIAL_CLUSTER_TOKEN"),
            Field("key_file", Kind.String, "ETCD_KEY_FILE"),
            Field("listen_client_urls", Kind.String, "ETCD_LISTEN_CLIENT_URLS"),
            Field("listen_peer_urls", Kind.String, "ETCD_LISTEN_PEER_URLS"),
            Field("log_package_levels", Kind.String, "ETCD_LOG_PACKAGE_LEVELS"),
            Field("max_snapshots", Kind.Int, "ETCD_MAX_SNAPSHOTS"),
            Field("max_wals", Kind.Int, "ETCD_MAX_WALS"),
            Field("name", Kind.String, "ETCD_NAME"),
            Field("peer_ca_file", Kind.String, "ETCD_PEER_CA_FILE", deprecated: "peer_ca_file obsoleted peer_trusted_ca_file and peer_client_cert_auth"),
            Field("peer_cert_file", Kind.String, "ETCD_PEER_CERT_FILE"),
            Field("peer_key_file", Kind.String, "ETCD_PEER_KEY_FILE"),
            Field("peer_client_cert_auth", Kind.Bool, "ETCD_PEER_CLIENT_CERT_AUTH"),
            Field("peer_trusted_ca_file", Kind.String, "ETCD_PEER_TRUSTED_CA_FILE"),
            Field("proxy", Kind.String, "ETCD_PROXY", valid: "^(on|off|readonly)$"),
            Field("proxy_dial_timeout", Kind.Int, "ETCD_PROXY_DIAL_TIMEOUT"),
            Field("proxy_failure_wait", Kind.Int, "ETCD_PROXY_FAILURE_WAIT"),
            Field("proxy_read_timeout", Kind.Int, "ETCD_PROXY_READ_TIMEOUT"),
            Field("proxy_refresh_interval", Kind.Int, "ETCD_PROXY_REFRESH_INTERVAL"),
            Field("proxy_write_timeout", Kind.Int, "ETCD_PROXY_WRITE_TIMEOUT"),
            Field("snapshot_count", Kind.Int, "ETCD_SNAPSHOT_COUNT"),
            Field("strict_reconfig_check", Kind.Bool, "ETCD_STRICT_RECONFIG_CHECK"),
            Field("trusted_ca_file", Kind.String, "ETCD_TRUSTED_CA_FILE"),
            Field("wal_dir", Kind.String, "ETCD_WAL_DIR"));

        SchemaNode flannel = Struct(
            "flannel",
            Field("etcd_endpoints", Kind.String, "FLANNELD_ETCD_ENDPOINTS"),
            Field("etcd_cafile", Kind.String, "FLANNELD_ETCD_CAFILE"),
            Field("etcd_certfile", Kind.String, "FLANNELD_ETCD_CERTFILE"),
            Field("etcd_keyfile", Kind.String, "FLANNELD_ETCD_KEYFILE"),
            Field("etcd_prefix", Kind.String, "FLANNELD_ETCD_PREFIX"),
            Field("ip_masq", Kind.String, "FLANNELD_IP_MASQ"),
            Field("subnet_file", Kind.String, "FLANNELD_SUBNET_FILE"),
            Field("interface", Kind.String, "FLANNELD_IFACE"),
            Field("public_ip", Kind.String, "FLANNELD_PUBLIC_IP"));

        SchemaNode fleet = Struct(
            "fleet",
            Field("agent_ttl", Kind.String, "FLEET_AGENT_TTL"),
            Field("authorized_keys_file", Kind.String, "FLEET_AUTHORIZED_KEYS_FILE"),
            Field("disable_engine", Kind.Bool, "FLEET_DISABLE_ENGINE"),
            Field("engine_reconcile_interval", Kind.Float, "FLEET_ENGINE_RECONCILE_INTERVAL"),
            Field("etcd_cafile", Kind.String, "FLEET_ETCD_CAFILE"),
            Field("etcd_certfile", Kind.String, "FLEET_ETCD_CERTFILE"),
            Field("etcd_keyfile", Kind.String, "FLEET_ETCD_KEYFILE"),
            Field("etcd_key_prefix", Kind.String, "FLEET_ETCD_KEY_PREFIX"),
            Field("etcd_request_timeout", Kind.Float, "FLEET_ETCD_REQUEST_TIMEOUT"),
            Field("etcd_servers", Kind.String, "FLEET_ETCD_SERVERS"),
            Field("metadata", Kind.String, "FLEET_METADATA"),
            Field("public_ip", Kind.String, "FLEET_PUBLIC_IP"),
            Field("token_limit", Kind.Int, "FLEET_TOKEN_LIMIT"),
            Field("verbosity", Kind.Int, "FLEET_VERBOSITY"),
            Field("verify_units", Kind.Bool, "FLEET_VERIFY_UNITS"));

        SchemaNode locksmith = Struct(
            "locksmith",
            Field("endpoint", Kind.String, "LOCKSMITHD_ENDPOINT"),
            Field("etcd_cafile", Kind.String, "LOCKSMITHD_ETCD_CAFILE"),
            Field("etcd_certfile", Kind.String, "LOCKSMITHD_ETCD_CERTFILE"),
            Field("etcd_keyfile", Kind.String, "LOCKSMITHD_ETCD_KEYFILE"),
            Field("etcd_username", Kind.String, "LOCKSMITHD_ETCD_USERNAME"),
            Field("etcd_password", Kind.String, "LOCKSMITHD_ETCD_PASSWORD"),
            Field("group", Kind.String, "LOCKSMITHD_GROUP"),
            Field("window_start", Kind.String, "REBOOT_WINDOW_START", valid: @"^((?i:sun|mon|tue|wed|thu|fri|sat|sun) )?0*([0-9]|1[0-9]|2[0-3]):0*([0-9]|[1-5][0-9])$"),
            Field("window_length", Kind.String, "REBOOT_WINDOW_LENGTH", valid: @"^[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+$"));

        SchemaNode oem = Struct(
            "oem",
            Field("id", Kind.String),
            Field("name", Kind.String),
            Field("version_id", Kind.String),
            Field("home_url", Kind.String),
            Field("bug_report_url", Kind.String));

        SchemaNode update = Struct(
            "update",
            Field("reboot_strategy", Kind.String, "REBOOT_STRATEGY", valid: "^(etcd-lock|reboot|off)$"),
            Field("group", Kind.String, "GROUP"),
            Field("server", Kind.String, "SERVER"));

        SchemaNode dropIn = Struct("drop_ins", Field("name", Kind.String), Field("content", Kind.String));
        SchemaNode unit = Struct(
            "units",
            Field("name", Kind.String),
            Field("mask", Kind.Bool),
            Field("enable", Kind.Bool),
            Field("runtime", Kind.Bool),
            Field("content", Kind.String),
            Field("command", Kind.String, valid: "^(start|stop|restart|reload|try-restart|reload-or-restart|reload-or-try-restart)$"),
            SliceOf("drop_ins", dropIn));

        SchemaNode coreos = Struct(
            "coreos",
            etcd.WithDeprecated("etcd is no longer shipped in Container Linux"),
            etcd2.WithDeprecated("etcd2 is no longer shipped in Container Linux"),
            flannel,
            fleet.WithDeprecated("fleet is no longer shipped in Container Linux"),
            locksmith,
            oem,
            update,
            SliceOf("units", unit));

        SchemaNode file = Struct(
            "write_files",
            Field("encoding", Kind.String, valid: @"^(base64|b64|gz|gzip|gz\+base64|gzip\+base64|gz\+b64|gzip\+b64)$"),
            Field("content", Kind.String),
            Field("owner", Kind.String),
            Field("path", Kind.String),
            Field("permissions", Kind.String, valid: "^0?[0-7]{3,4}$"));

        SchemaNode user = Struct(
            "users",
            Field("name", Kind.String),
            Field("passwd", Kind.String),
            SliceOf("ssh_authorized_keys", Field(string.Empty, Kind.String)),
            Field("coreos_ssh_import_github", Kind.String, deprecated: RemoteFetch),
            SliceOf("coreos_ssh_import_github_users", Field(string.Empty, Kind.String), deprecated: RemoteFetch),
            Field("coreos_ssh_import_url", Kind.String, deprecated: RemoteFetch),
            Field("gecos", Kind.String),
            Field("homedir", Kind.String),
            Field("no_create_home", Kind.Bool),
            Field("primary_group", Kind.String),
            SliceOf("groups", Field(string.Empty, Kind.String)),
            Field("no_user_group", Kind.Bool),
            Field("system", Kind.Bool),
            Field("no_log_init", Kind.Bool),
            Field("shell", Kind.String));

        return Struct(
            string.Empty,
            SliceOf("ssh_authorized_keys", Field(string.Empty, Kind.String)),
            coreos,
            SliceOf("write_files", file),
            Field("hostname", Kind.String),
            SliceOf("users", user),
            Field("manage_etc_hosts", Kind.String, valid: "^localhost$"));
    }
}
