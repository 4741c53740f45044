import type { Socket } from 'node:net';

/** What a stream delivers up to and including its first newline (perhaps a little more). */
export function readLine(stream: Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const onData = (chunk: Buffer): void => {
      text += chunk.toString();
      if (!text.includes('\n')) return;
      stream.off('data', onData);
      resolve(text);
    };
    stream.on('data', onData);
  });
}
