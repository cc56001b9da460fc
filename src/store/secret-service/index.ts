// What the rest of mxtok uses of the Secret Service client: the D-Bus wire, connection and
// session crypto behind it stay inside this folder.
export {DBusError, settleBusCalls, unixSocketPath} from './dbus-connection.js'
export {probeSecretService, type ProbeResult} from './dbus-probe.js'
export {SecretServiceClient, unreachableReason, type SecretChange, type SecretLookup} from './client.js'
