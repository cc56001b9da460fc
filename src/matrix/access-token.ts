/**
 * What an access token can be: it travels in an Authorization header and is printed by `mxtok token`,
 * so only visible ASCII. Anything else, typed in or answered by a server, is not a token at all.
 */
const ACCESS_TOKEN = /^[\x21-\x7e]{1,4096}$/

export const isAccessToken = (text: string) => ACCESS_TOKEN.test(text)
