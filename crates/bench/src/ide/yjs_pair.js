#!/usr/bin/env node
// The limit for the IDE benchmark: two bare Yjs clients (Debian's yjs and y-websocket) on one
// document through the hub. One inserts a character every --gap-ms; the time until the other
// sees it is printed, one JSON line: {"latencies_ms": [...]}. Both clients live in this one
// process, so one clock measures both ends.
// Usage: yjs_pair.js --url WS_BASE --room FILE --token JWT --count N --gap-ms G
'use strict'

const Y = require('yjs')
const WebSocket = require('ws')
const { WebsocketProvider } = require('y-websocket')

const args = {}
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1]
const count = Number(args.count)
const gap = Number(args['gap-ms'])

function client () {
  const doc = new Y.Doc()
  const provider = new WebsocketProvider(args.url, args.room, doc, {
    params: { token: args.token },
    WebSocketPolyfill: WebSocket,
    disableBc: true
  })
  const synced = new Promise(resolve => provider.on('synced', s => s && resolve()))
  return { doc, provider, text: doc.getText('content'), synced }
}

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

;(async () => {
  const writer = client()
  const reader = client()
  await Promise.all([writer.synced, reader.synced])
  const latencies = []
  let waiting = null
  reader.text.observe(() => {
    if (waiting) {
      latencies.push(performance.now() - waiting.at)
      const done = waiting.done
      waiting = null
      done()
    }
  })
  for (let i = 0; i < count; i++) {
    await new Promise(resolve => {
      waiting = { at: performance.now(), done: resolve }
      writer.text.insert(writer.text.length, i % 40 === 39 ? '\n' : 'abcdefghij'[i % 10])
    })
    await sleep(gap)
  }
  process.stdout.write(JSON.stringify({ latencies_ms: latencies }) + '\n')
  writer.provider.destroy()
  reader.provider.destroy()
  process.exit(0)
})().catch(err => {
  process.stderr.write(`yjs_pair: ${err.stack || err}\n`)
  process.exit(1)
})
