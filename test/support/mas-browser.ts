// What a person does at the real MAS with the link mxtok shows, as plain HTML forms (MAS renders
// its device link, login and consent pages on the server; no JavaScript is needed).
import {type Approval, type Page, parseForms, ScriptedBrowser} from './browser.js'

const hasField = (page: Page, name: string) => parseForms(page.html).some((f) => name in f.fields)

/**
 * Opens the link, enters the code in MAS's form (or confirms it, when the link carries it), signs
 * in, and allows or denies at the consent page. Returns the last page MAS showed.
 */
export async function approveAtMas(link: string, code: string, who: Approval): Promise<Page> {
  const browser = new ScriptedBrowser()
  let page = await browser.get(link)
  if (hasField(page, 'code') && !hasField(page, 'password')) {
    page = await browser.submit(page, {form: parseForms(page.html).find((f) => 'code' in f.fields)?.id, fields: {code}})
  }
  if (hasField(page, 'password')) {
    page = await browser.submit(page, {
      form: parseForms(page.html).find((f) => 'password' in f.fields)?.id,
      fields: {username: who.username, password: who.password},
    })
    if (hasField(page, 'password')) throw new Error(`MAS refused the sign-in of ${who.username} (HTTP ${page.status})`)
  }
  if (!new URL(page.url).pathname.startsWith('/device/')) {
    throw new Error(`expected MAS's consent page, got ${page.url} (HTTP ${page.status}):\n${page.html.slice(0, 2000)}`)
  }
  // MAS's buttons: "Grant access" (with the box that confirms the device) and "Cancel".
  return (who.decision ?? 'Allow') === 'Allow'
    ? browser.submit(page, {button: 'Grant access', fields: {confirm_device: 'on'}})
    : browser.submit(page, {button: 'Cancel'})
}
