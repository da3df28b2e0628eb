import { createInboxClient, type ConnectionStatus, type InboxClient, type User as UserDto } from '@inbox-hub/client';
import { api, ApiError } from './api.js';
import { showAuth } from './auth.js';
import { ChatPane } from './chat.js';
import { ConversationList } from './conversations.js';
import { byId, formValues } from './dom.js';
import { JobsPanel } from './jobs.js';

const BANNER: Record<ConnectionStatus, string | null> = {
  connecting: 'Connecting…',
  syncing: 'Catching up…',
  live: null,
  reconnecting: 'Connection lost. Reconnecting…',
  closed: 'Disconnected. Reload the page to connect again.',
};

async function boot(): Promise<void> {
  try {
    const { user } = await api.me();
    void startInbox(user);
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) throw err;
    showAuth((user) => void startInbox(user));
  }
}

/**
 * The cursors come from the conversation list, so the client hands on only what is newer
 * than what the list shows; the open pane loads its own history over HTTP.
 */
async function startInbox(me: UserDto): Promise<void> {
  const { conversations } = await api.conversations();
  const cursors = Object.fromEntries(conversations.map((c) => [c.id, c.last_message?.seq ?? 0]));
  const client = createInboxClient('', { cursors });
  const jobs = new JobsPanel(client, () => chat.openId);
  const chat = new ChatPane(client, me, (id) => list.markRead(id));
  const list = new ConversationList(me, (c) => {
    jobs.setConversationOpen(true);
    void chat.open(c);
  });
  list.load(conversations);
  wireClient(client, list, chat);
  wireNewConversation(me, list);
  showInbox(me, client);
  await jobs.load();
}

function wireClient(client: InboxClient, list: ConversationList, chat: ChatPane): void {
  client.on('message', (m) => {
    // A conversation this page has not heard of (created while it was offline): reload the list.
    if (!list.has(m.conversation_id)) return void refreshList(list);
    list.onMessage(m, chat.isShowing(m.conversation_id));
    chat.onMessage(m);
  });
  client.on('conversation', (c) => list.upsert(c));
  client.on('typing', (e) => chat.onTyping(e));
  client.on('read', (e) => {
    chat.onRead(e);
    if (e.user_id === client.user?.id) list.markRead(e.conversation_id);
  });
  client.on('status', showStatus);
  showStatus(client.status);
  // The browser knows about a lost network long before a heartbeat would notice.
  window.addEventListener('offline', () => client.reconnect());
  window.addEventListener('online', () => client.reconnect());
}

let refreshing: Promise<void> | null = null;

/** One reload at a time: a catch-up can bring many messages of the same new conversation. */
function refreshList(list: ConversationList): Promise<void> {
  refreshing ??= api
    .conversations()
    .then(({ conversations }) => list.load(conversations))
    .catch(() => undefined)
    .finally(() => (refreshing = null));
  return refreshing;
}

function wireNewConversation(me: UserDto, list: ConversationList): void {
  const form = byId('new-conversation-form', HTMLFormElement);
  const error = byId('new-conversation-error');
  form.onsubmit = async (event) => {
    event.preventDefault();
    error.textContent = '';
    try {
      const { peer: other } = await api.lookupUser(String(formValues(form).other_email).trim());
      const { conversation } = await api.openConversation(me.id, other.id);
      list.upsert(conversation);
      list.select(conversation.id);
      form.reset();
    } catch (err) {
      error.textContent = err instanceof ApiError ? err.message : 'The hub did not answer.';
    }
  };
}

function showInbox(me: UserDto, client: InboxClient): void {
  byId('inbox-view').hidden = false;
  byId('me').textContent = `${me.name} <${me.email}>`;
  byId('my-id').textContent = String(me.id);
  const logout = byId('logout', HTMLButtonElement);
  logout.hidden = false;
  logout.onclick = async () => {
    client.close();
    await api.logout().catch(() => undefined);
    location.reload();
  };
}

function showStatus(status: ConnectionStatus): void {
  const banner = byId('banner');
  const text = BANNER[status];
  banner.hidden = text === null;
  banner.textContent = text ?? '';
  banner.dataset.status = status;
}

void boot();
