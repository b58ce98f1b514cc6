#!/usr/bin/env node
// A scripted Yjs client for the hub's tests: Debian's yjs and y-websocket (WebsocketProvider)
// driven by JSON lines on stdin, reporting JSON lines on stdout. Same line protocol as
// pycrdt_client.py:
//
//   args:   --url BASE (repeatable; on every close the provider moves to the next one, keeping
//           its Y.Doc), --room ROOM, [--token JWT] (query parameter `token`), [--name LABEL]
//   stdin:  insert, type, delete, text, wait_text, wait_length, awareness, anchor, quit
//   stdout: status, synced, permission_denied, closed, typed, text, timeout, awareness, anchor,
//           error
//
// Needs NODE_PATH=/usr/share/nodejs unless node is Debian's own (which searches it anyway).
'use strict'

const readline = require('readline')
const Y = require('yjs')
const WebSocket = require('ws')
const { WebsocketProvider, messageAuth } = require('y-websocket')
const authProtocol = require('y-protocols/auth')
const urlCodec = require('lib0/url')

const DEFAULT_TIMEOUT_MS = 10000

function parseArgs (argv) {
  const opts = { urls: [], room: null, token: null, name: null }
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]
    const value = argv[i + 1]
    if (value === undefined) usage(`missing value for ${flag}`)
    i++
    if (flag === '--url') opts.urls.push(value)
    else if (flag === '--room') opts.room = value
    else if (flag === '--token') opts.token = value
    else if (flag === '--name') opts.name = value
    else usage(`unknown argument ${flag}`)
  }
  if (opts.urls.length === 0 || opts.room === null) usage('--url and --room are required')
  return opts
}

function usage (message) {
  process.stderr.write(`yjs_client: ${message}\n` +
    'usage: yjs_client.js --url WS_BASE [--url WS_BASE ...] --room ROOM [--token JWT] [--name LABEL]\n')
  process.exit(2)
}

function emit (event) {
  // Writes to a pipe are synchronous on Linux, so every line is flushed when this returns.
  process.stdout.write(JSON.stringify(event) + '\n')
}

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))
const clamp = (n, lo, hi) => Math.max(lo, Math.min(hi, n))

const opts = parseArgs(process.argv.slice(2))
const params = opts.token === null ? {} : { token: opts.token }
// The same URL the provider builds from (serverUrl, roomname, params): the room is appended
// unencoded, the params with encodeURIComponent.
const query = urlCodec.encodeQueryParams(params)
const socketUrls = opts.urls.map(base =>
  base.replace(/\/+$/, '') + '/' + opts.room + (query.length === 0 ? '' : '?' + query))

const doc = new Y.Doc()
const text = doc.getText('content')
const provider = new WebsocketProvider(opts.urls[0], opts.room, doc, {
  connect: false,
  params,
  WebSocketPolyfill: WebSocket,
  disableBc: true
})
if (opts.name !== null) provider.awareness.setLocalState({ user: { name: opts.name } })

// y-websocket 1.4.5 only console.warns on a permission-denied auth message; each provider has
// its own copy of the handler table, so replace the auth entry to report it.
provider.messageHandlers[messageAuth] = (_encoder, decoder, _provider) => {
  authProtocol.readAuthMessage(decoder, doc, (_doc, reason) => {
    emit({ event: 'permission_denied', reason })
  })
}

let urlIndex = 0
let lastError = null
let closedUrl = null
provider.on('connection-error', event => {
  lastError = event && event.message ? event.message : String(event)
  process.stderr.write(`yjs_client: connection error on ${provider.url}: ${lastError}\n`)
})
// Emitted from the socket's onclose before the provider schedules its reconnect (which opens
// `provider.url`), so rotating the URL here makes the next attempt go to the next server.
provider.on('connection-close', event => {
  closedUrl = provider.url
  const closed = { event: 'closed', code: event ? event.code : 1006, reason: event && event.reason ? String(event.reason) : '' }
  if (lastError !== null) closed.error = lastError
  lastError = null
  emit(closed)
  urlIndex = (urlIndex + 1) % socketUrls.length
  provider.url = socketUrls[urlIndex]
})
provider.on('status', ({ status }) => {
  if (status === 'connected') emit({ event: 'status', status, url: provider.url })
  else if (status === 'disconnected') emit({ event: 'status', status, url: closedUrl })
})
provider.on('synced', synced => { if (synced) emit({ event: 'synced' }) })
provider.connect()

function waitFor (predicate, timeoutMs) {
  if (predicate()) return Promise.resolve(true)
  return new Promise(resolve => {
    const onChange = () => {
      if (predicate()) finish(true)
    }
    const timer = setTimeout(() => finish(false), timeoutMs)
    function finish (ok) {
      clearTimeout(timer)
      text.unobserve(onChange)
      resolve(ok)
    }
    text.observe(onChange)
  })
}

async function quit () {
  const ws = provider.ws
  const closed = ws === null || ws.readyState === WebSocket.CLOSED
    ? Promise.resolve()
    : new Promise(resolve => ws.once('close', resolve))
  // Sends the awareness removal, then closes the socket with 1000.
  provider.destroy()
  await Promise.race([closed, sleep(2000)])
  process.exit(0)
}

async function run (cmd) {
  switch (cmd.cmd) {
    case 'insert':
      text.insert(clamp(cmd.index | 0, 0, text.length), String(cmd.text))
      break
    case 'type': {
      const chars = Array.from(String(cmd.text))
      const interval = cmd.interval_ms | 0
      for (let i = 0; i < chars.length; i++) {
        if (i > 0 && interval > 0) await sleep(interval)
        text.insert(text.length, chars[i])
      }
      emit({ event: 'typed', count: chars.length })
      break
    }
    case 'delete': {
      const index = clamp(cmd.index | 0, 0, text.length)
      const length = clamp(cmd.length | 0, 0, text.length - index)
      if (length > 0) text.delete(index, length)
      break
    }
    case 'text':
      emit({ event: 'text', text: text.toString() })
      break
    case 'wait_text':
    case 'wait_length': {
      let predicate
      if (cmd.cmd === 'wait_length') predicate = () => text.length >= cmd.at_least
      else if (typeof cmd.equals === 'string') predicate = () => text.toString() === cmd.equals
      else if (typeof cmd.contains === 'string') predicate = () => text.toString().includes(cmd.contains)
      else throw new Error('wait_text needs "equals" or "contains"')
      const ok = await waitFor(predicate, cmd.timeout_ms === undefined ? DEFAULT_TIMEOUT_MS : cmd.timeout_ms)
      emit({ event: ok ? 'text' : 'timeout', text: text.toString() })
      break
    }
    case 'awareness': {
      const names = []
      for (const state of provider.awareness.getStates().values()) {
        if (state && state.user && typeof state.user.name === 'string') names.push(state.user.name)
      }
      emit({ event: 'awareness', names: names.sort() })
      break
    }
    case 'anchor': {
      // A range's two ends as the page pins a thread to them: the start associated with the
      // first character, the end with the last, each `Y.encodeRelativePosition` in base64.
      const encode = (index, assoc) => Buffer.from(Y.encodeRelativePosition(
        Y.createRelativePositionFromTypeIndex(text, index, assoc))).toString('base64')
      emit({ event: 'anchor', start: encode(cmd.from | 0, 0), end: encode(cmd.to | 0, -1) })
      break
    }
    case 'quit':
      await quit()
      break
    default:
      throw new Error(`unknown command ${JSON.stringify(cmd.cmd)}`)
  }
}

// Commands run one at a time, in order: a `type` finishes before the next line is read.
const lines = readline.createInterface({ input: process.stdin, terminal: false })
;(async () => {
  for await (const line of lines) {
    if (line.trim() === '') continue
    try {
      await run(JSON.parse(line))
    } catch (err) {
      process.stderr.write(`yjs_client: ${err.stack || err}\n`)
      emit({ event: 'error', message: String(err.message || err) })
    }
  }
  await quit()
})()
