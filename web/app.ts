import { createInboxClient, inboxStore, type Conversation, type ConnectionStatus, type InboxClient, type InboxStore, type User as UserDto } from '@inbox-hub/client';
import { api, ApiError } from './api.js';
import { showAuth } from './auth.js';
import { avatar } from './avatar.js';
import { ChatPane } from './chat.js';
import { ConversationList } from './conversations.js';
import { byId, formValues } from './dom.js';
import { humanError } from './errors.js';
import { JobsPanel } from './jobs.js';
import { PeerMarkers } from './markers.js';
import { NoticesBell } from './notices.js';
import { Presence } from './presence.js';
import { JobsDrawer, Router } from './shell.js';

const BANNER: Record<ConnectionStatus, string | null> = {
  connecting: 'Connecting…',
  syncing: 'Catching up…',
  live: null,
  reconnecting: 'You’re offline. Reconnecting… Messages you send will go out when you’re back.',
  closed: 'Disconnected. Reload the page to connect again.',
};

async function boot(): Promise<void> {
  try {
    const { user } = await api.me();
    await startInbox(user);
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) return showFatal(err);
    showAuth((user) => void startInbox(user).catch(showFatal));
  }
}

/**
 * The cursors come from the conversation list, so the client hands on only what is newer
 * than what the list shows; an open conversation loads its own history over HTTP.
 */
async function startInbox(me: UserDto): Promise<void> {
  const { conversations } = await api.conversations();
  const cursors = Object.fromEntries(conversations.map((c) => [c.id, c.last_message?.seq ?? 0]));
  const client = createInboxClient('', { cursors });
  const presence = new Presence(client, () => store);
  const store = inboxStore(client);
  store.addConversations(conversations);
  const drawer = new JobsDrawer();
  const jobs = new JobsPanel(client, () => chat.openId, (n) => drawer.setCount(n));
  const chat = new ChatPane(client, store, me, new PeerMarkers(me.id), presence, () => router.back());
  const list = new ConversationList(me, store, presence, (c) => router.open(c.id), (id) => chat.isShowing(id));
  const router = new Router((c) => show(c), () => showList(), (id) => list.find(id));
  new NoticesBell(client, (jobId) => drawer.open(jobId));

  const main = byId('inbox-view');
  const show = (c: Conversation) => {
    main.dataset.view = 'chat';
    if (list.selected !== c.id) list.select(c.id);
    chat.open(c);
    jobs.setConversationOpen(true);
  };
  const showList = () => {
    const was = chat.openId;
    main.dataset.view = 'list';
    chat.close();
    list.select(null);
    jobs.setConversationOpen(false);
    // Back on a phone: the keyboard user lands on the conversation they came from.
    const focus = document.activeElement;
    if (was !== null && (focus === document.body || byId('chat-pane').contains(focus))) list.focus(was);
  };
  store.subscribe(() => {
    list.render();
    chat.refresh();
    router.resolvePending();
    showUnreadInTitle(store, chat);
  });
  wireClient(client, chat);
  wireNewConversation(me, store, router);
  showInbox(me, client);
  list.render();
  router.start();
  await jobs.load();
}

function wireClient(client: InboxClient, chat: ChatPane): void {
  const announcer = byId('announcer');
  client.on('message', (m) => {
    // Said out loud for screen readers, live messages only (not a whole catch-up).
    if (client.status === 'live' && m.sender_id !== String(client.user?.id)) {
      announcer.textContent = `${chat.isShowing(m.conversation_id) ? '' : 'New message from '}${m.sender_name}: ${m.message}`;
    }
  });
  client.on('status', showStatus);
  showStatus(client.status);
  // The browser knows about a lost network long before a heartbeat would notice.
  window.addEventListener('offline', () => client.reconnect());
  window.addEventListener('online', () => client.reconnect());
}

function wireNewConversation(me: UserDto, store: InboxStore, router: Router): void {
  const form = byId('new-conversation-form', HTMLFormElement);
  const error = byId('new-conversation-error');
  form.onsubmit = async (event) => {
    event.preventDefault();
    error.textContent = '';
    const email = String(formValues(form).other_email).trim();
    if (email.toLowerCase() === me.email.toLowerCase()) {
      error.textContent = 'That’s your own email. Enter the email of the person you want to talk to.';
      return;
    }
    let step: 'lookup' | 'open' = 'lookup';
    try {
      const { peer: other } = await api.lookupUser(email);
      step = 'open';
      const { conversation } = await api.openConversation(me.id, other.id);
      store.addConversations([conversation]);
      router.open(conversation.id);
      form.reset();
    } catch (err) {
      error.textContent = humanError(err, step);
    }
  };
}

function showInbox(me: UserDto, client: InboxClient): void {
  document.body.dataset.view = 'inbox';
  const main = byId('inbox-view');
  main.hidden = false;
  main.dataset.userId = String(me.id);
  byId('top-actions').hidden = false;
  byId('me').textContent = me.name;
  byId('me').title = me.email;
  byId('me-avatar').replaceChildren(avatar(me, 'sm'));
  byId('logout', HTMLButtonElement).onclick = async () => {
    client.close();
    await api.logout().catch(() => undefined);
    location.replace('/');
  };
}

function showUnreadInTitle(store: InboxStore, chat: ChatPane): void {
  const unread = store.getSnapshot().conversations.reduce((n, c) => n + (chat.isShowing(c.id) ? 0 : c.unread_count), 0);
  document.title = unread > 0 ? `(${unread}) Inbox` : 'Inbox';
}

function showStatus(status: ConnectionStatus): void {
  const banner = byId('banner');
  const text = BANNER[status];
  banner.hidden = text === null;
  banner.textContent = text ?? '';
  banner.dataset.status = status;
}

function showFatal(err: unknown): void {
  const banner = byId('banner');
  banner.hidden = false;
  banner.dataset.status = 'closed';
  banner.textContent = `The inbox couldn’t start. ${humanError(err, 'history')}`;
}

void boot();
