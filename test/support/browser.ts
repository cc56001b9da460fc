// A scripted browser for the sign-in service's pages: plain HTTP with a cookie jar, following
// redirects and submitting HTML forms the way a person clicking through them would. No JavaScript:
// the one page that submits itself (oidc-provider's form_post) is submitted by hand.

export interface Page {
  url: string
  status: number
  html: string
}

interface Form {
  id: string | undefined
  method: string
  action: string
  fields: Record<string, string>
  /** The submit buttons that belong to the form, inside it or naming it with form="id". */
  buttons: {name: string | undefined; value: string; text: string}[]
}

const MAX_REDIRECTS = 10

const attr = (tag: string, name: string) => {
  const m = new RegExp(`\\s${name}\\s*=\\s*("([^"]*)"|'([^']*)')`, 'i').exec(tag)
  return m ? decodeEntities(m[2] ?? m[3] ?? '') : undefined
}

function decodeEntities(s: string): string {
  return s.replace(/&(#\d+|#x[0-9a-f]+|amp|lt|gt|quot|apos);/gi, (_, e: string) => {
    if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10))
    return ({amp: '&', lt: '<', gt: '>', quot: '"', apos: "'"} as Record<string, string>)[e.toLowerCase()]
  })
}

export function parseForms(html: string): Form[] {
  const forms: Form[] = []
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const [, open, inner] = m
    const fields: Record<string, string> = {}
    for (const input of inner.matchAll(/<input\b[^>]*>/gi)) {
      const name = attr(input[0], 'name')
      if (name !== undefined) fields[name] = attr(input[0], 'value') ?? ''
    }
    const id = attr(open, 'id')
    const buttons = [...inner.matchAll(/<button\b([^>]*)>([\s\S]*?)<\/button>/gi)].map((b) => ({
      name: attr(b[1], 'name'),
      value: attr(b[1], 'value') ?? '',
      text: b[2].trim(),
    }))
    if (id !== undefined) {
      for (const b of html.matchAll(/<button\b([^>]*)>([\s\S]*?)<\/button>/gi)) {
        if (attr(b[1], 'form') === id) buttons.push({name: attr(b[1], 'name'), value: attr(b[1], 'value') ?? '', text: b[2].trim()})
      }
    }
    forms.push({id, method: (attr(open, 'method') ?? 'get').toLowerCase(), action: attr(open, 'action') ?? '', fields, buttons})
  }
  return forms
}

export class ScriptedBrowser {
  private readonly cookies = new Map<string, string>()

  async get(url: string): Promise<Page> {
    return this.request(url, 'GET')
  }

  /**
   * Fills in and submits the page's form (the only one, the one with this id, or the one with the
   * button), pressing the button whose visible text is `button` when given.
   */
  async submit(page: Page, opts: {form?: string; fields?: Record<string, string>; button?: string} = {}): Promise<Page> {
    const forms = parseForms(page.html).filter(
      (f) => (opts.form === undefined || f.id === opts.form) && (opts.button === undefined || f.buttons.some((b) => b.text === opts.button)),
    )
    if (forms.length !== 1)
      throw new Error(
        `expected one form${opts.form ? ` "${opts.form}"` : ''} on ${page.url} (HTTP ${page.status}), found ${forms.length}:\n${page.html.slice(0, 2000)}`,
      )
    const [form] = forms
    const values = {...form.fields, ...opts.fields}
    if (opts.button !== undefined) {
      const button = form.buttons.find((b) => b.text === opts.button)
      if (!button) throw new Error(`no button "${opts.button}" in the form on ${page.url}`)
      if (button.name !== undefined) values[button.name] = button.value
    }
    const action = new URL(form.action || page.url, page.url).href
    return this.request(action, form.method.toUpperCase(), new URLSearchParams(values).toString())
  }

  private async request(url: string, method: string, form?: string): Promise<Page> {
    let current = url
    let currentMethod = method
    let body = form
    for (let hops = 0; hops <= MAX_REDIRECTS; hops++) {
      const headers: Record<string, string> = {Accept: 'text/html'}
      if (this.cookies.size) headers.Cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
      if (body !== undefined) headers['Content-Type'] = 'application/x-www-form-urlencoded'
      const res = await fetch(current, {method: currentMethod, headers, body, redirect: 'manual'})
      for (const cookie of res.headers.getSetCookie()) {
        const [pair] = cookie.split(';')
        const eq = pair.indexOf('=')
        const name = pair.slice(0, eq).trim()
        const value = pair.slice(eq + 1).trim()
        // An expired cookie is how a server deletes it.
        if (value === '' || /expires=Thu, 01 Jan 1970/i.test(cookie)) this.cookies.delete(name)
        else this.cookies.set(name, value)
      }
      const location = res.headers.get('location')
      if (res.status >= 300 && res.status < 400 && location) {
        await res.arrayBuffer()
        current = new URL(location, current).href
        currentMethod = 'GET'
        body = undefined
        continue
      }
      return {url: current, status: res.status, html: await res.text()}
    }
    throw new Error(`more than ${MAX_REDIRECTS} redirects from ${url}`)
  }
}

export interface Approval {
  username: string
  password: string
  /** Allow (the default) or deny at the consent page. */
  decision?: 'Allow' | 'Deny'
}

/**
 * What a person does with the link mxtok shows: open it, confirm the code, sign in, and allow or
 * deny. Returns the last page the sign-in service showed.
 */
export async function approveDeviceCode(link: string, who: Approval): Promise<Page> {
  const browser = new ScriptedBrowser()
  // The link carries the code: the service answers with a form that submits itself.
  const selfSubmitting = await browser.get(link)
  const confirm = await browser.submit(selfSubmitting)
  const signIn = await browser.submit(confirm, {form: 'op.deviceConfirmForm', button: 'Continue'})
  const consent = await browser.submit(signIn, {fields: {username: who.username, password: who.password}})
  if (!/Allow access/.test(consent.html))
    throw new Error(`sign-in as ${who.username} did not lead to the consent page (HTTP ${consent.status}):\n${consent.html.slice(0, 2000)}`)
  return browser.submit(consent, {button: who.decision ?? 'Allow'})
}
