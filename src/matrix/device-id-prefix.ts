// Apart from device-id.ts so that listing sessions does not load node:crypto.
export const DEVICE_ID_PREFIX = 'MXTOK'
