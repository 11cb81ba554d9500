// A site that drops the chat into its page, written against the package's types only (the
// declarations tsc generated from the SDK's JSDoc). `@ts-expect-error` lines must fail to compile:
// they prove the types are real, not `any`.

import { ChatClient, ChatError, MAX_CONTENT_BYTES, type ChatMessage, type RoomInfo, type Attachment } from 'serverless-chat-sdk';
import { mountChat, type ChatMount, type MountOptions } from 'serverless-chat-sdk/ui';
import { linkify, formatBytes, type TextSegment } from 'serverless-chat-sdk/text';

// The site's own token provider (its backend signs the JWT).
const token = async (): Promise<string> => (await fetch('/my/chat-token')).text();

const chat = new ChatClient({ url: 'wss://abc.execute-api.eu-west-1.amazonaws.com/prod', apiUrl: 'https://def.execute-api.eu-west-1.amazonaws.com', userId: 'alice', token, cache: true });
chat.on('message', (m, info) => {
  const text: string = m.content;
  const key: string = m.key;
  const files: Attachment[] = m.attachments ?? [];
  const progress: number | undefined = m.upload?.loaded;
  console.log(text, key, files.length, progress, info.reason);
});
chat.on('typing', ({ roomId, users }) => console.log(roomId, users.map((u) => u.name.toUpperCase())));
chat.on('state', ({ state, delay }) => console.log(state satisfies 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed', delay));
chat.on('error', (e: ChatError) => console.warn(e.code, e.message));
// @ts-expect-error: there is no such event
chat.on('nope', () => {});
// @ts-expect-error: a message is a ChatMessage, not a number
chat.on('message', (m: number) => m);

export async function sendAll(roomId: string, file: File): Promise<RoomInfo[]> {
  const sent: ChatMessage = chat.send(roomId, 'Hello', { replyTo: 3 });
  const photo: ChatMessage = chat.sendFile(roomId, file, { caption: 'the plan' });
  const state: 'waiting' | 'uploading' | 'uploaded' | undefined = photo.upload?.state;
  chat.discard(photo.clientId ?? '');
  const url: string = await chat.attachmentUrl(roomId, 'rooms/r/1/plan.pdf');
  const room = await chat.mute(roomId, true);
  const muted: boolean | undefined = room?.muted;
  console.log(sent.status, state, url, muted, MAX_CONTENT_BYTES);
  // @ts-expect-error: send takes text
  chat.send(roomId, 42);
  return chat.rooms();
}

export async function notifications(registration: ServiceWorkerRegistration): Promise<void> {
  const sub: PushSubscription = await chat.enablePush(registration);
  const removed: boolean = await chat.disablePush(registration);
  console.log(sub.endpoint, removed);
}

// The whole UI in one call, in the site's own element, with its own token provider.
const options: MountOptions = { url: 'wss://abc.execute-api.eu-west-1.amazonaws.com/prod', apiUrl: 'https://def.execute-api.eu-west-1.amazonaws.com', userId: 'alice', token, onSignOut: () => ui.destroy({ forget: true }) };
const ui: ChatMount = mountChat(document.getElementById('chat') as HTMLElement, options);
ui.openRoom('dm_123');
const current: string | null = ui.current;
// @ts-expect-error: the token is a JWT or a function that returns one
mountChat(document.body, { url: 'wss://x', token: 42 });

const parts: TextSegment[] = linkify('docs at https://example.com');
console.log(current, parts.map((p) => p.href ?? p.text), formatBytes(2048));
