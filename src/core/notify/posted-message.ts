/**
 * Where a deployment's Slack message is remembered: the step state (`notify`, for the post step
 * of the same job), and `<channel>/<ts>` (the `slack-message` output and input, for the next job
 * of the same release). A small module of its own, so the action runtime reads it without loading
 * the notifiers. The channel id and ts name a message; they are not secrets.
 */
export const NOTIFY_STATE_KEY = 'notify';

export interface PostedMessage {
  /** The channel id (chat.update needs the id, not a #name). */
  channel: string;
  ts: string;
}

export interface SavedNotifyState {
  slack?: PostedMessage;
  deploymentId?: number;
}

/** The saved state, or {} when there is none or it does not parse. */
export function readNotifyState(state: { get(key: string): string }): SavedNotifyState {
  const text = state.get(NOTIFY_STATE_KEY);
  if (!text) return {};
  try {
    return JSON.parse(text) as SavedNotifyState;
  } catch {
    return {};
  }
}

/** The Slack message this step posted or updated, `<channel>/<ts>`; undefined when none. */
export function postedSlackMessage(state: { get(key: string): string }): string | undefined {
  const slack = readNotifyState(state).slack;
  return slack ? `${slack.channel}/${slack.ts}` : undefined;
}

/** `<channel>/<ts>` (the slack-message input) as a message to resume; undefined when empty or malformed. */
export function parseSlackMessage(value: string | undefined): PostedMessage | undefined {
  const match = value ? /^([A-Z0-9]+)\/(\d+\.\d+)$/.exec(value.trim()) : null;
  return match ? { channel: match[1]!, ts: match[2]! } : undefined;
}
