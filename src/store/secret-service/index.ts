// What the rest of mxtok uses of the Secret Service client: the D-Bus wire, connection and
// session crypto behind it stay inside this folder.

export {type SecretChange, type SecretLookup, SecretServiceClient, unreachableReason} from './client.js'
export {DBusError, settleBusCalls, unixSocketPath} from './dbus-connection.js'
export {type ProbeResult, probeSecretService} from './dbus-probe.js'
