/**
 * The files the bot sent (uploaded, or by URL), kept in memory so that getFile and the file route
 * (`GET /file/bot<token>/<file_path>`) serve them and the web chat shows photos. Telegram keeps
 * files for good; this server keeps the newest up to a total size and forgets the oldest first,
 * after which their file_id is unknown here.
 */
import { randomBytes } from 'node:crypto';

export type FileKind = 'photo' | 'document';

interface FileNames {
  file_id: string;
  file_unique_id: string;
  /** Where the file route serves it, named as Telegram names them: `photos/file_3.png`. */
  file_path: string;
}

interface FileContent {
  bytes: Buffer;
  /** What the file route answers as its content type; a document's mime_type. */
  contentType: string;
}

export interface StoredPhoto extends FileNames, FileContent {
  kind: 'photo';
  /** Read from the file. */
  width: number;
  height: number;
}

export interface StoredDocument extends FileNames, FileContent {
  kind: 'document';
  fileName: string;
}

export type StoredFile = StoredPhoto | StoredDocument;

/** A file as a method hands it over; the store names it. */
export type NewFile = Omit<StoredPhoto, keyof FileNames> | Omit<StoredDocument, keyof FileNames>;

/** Ten photos of Telegram's largest size, or thousands of farm reports. */
const DEFAULT_FILE_BYTES = 100 * 2 ** 20;

/** The first bytes of Telegram's file ids, which tell the file's type. */
const FILE_ID_PREFIXES: Record<FileKind, string> = {
  photo: 'AgACAgIAAxkBAAI',
  document: 'BQACAgIAAxkBAAI',
};
const FOLDERS: Record<FileKind, string> = { photo: 'photos', document: 'documents' };

export class FileStore {
  /** Oldest first. */
  private readonly byId = new Map<string, StoredFile>();
  private readonly byPath = new Map<string, StoredFile>();
  private totalBytes = 0;
  private count = 0;

  constructor(private readonly maxBytes = DEFAULT_FILE_BYTES) {}

  /** `extension`: the file path's, without the dot; '' for none. */
  add(file: NewFile, extension: string): StoredFile {
    const random = randomBytes(24).toString('base64url');
    const stored = {
      ...file,
      file_id: `${FILE_ID_PREFIXES[file.kind]}${random}`,
      file_unique_id: random.slice(-16),
      file_path: `${FOLDERS[file.kind]}/file_${this.count++}${extension && `.${extension}`}`,
    };
    this.byId.set(stored.file_id, stored);
    this.byPath.set(stored.file_path, stored);
    this.totalBytes += stored.bytes.length;
    for (const oldest of this.byId.values()) {
      if (this.totalBytes <= this.maxBytes) break;
      this.byId.delete(oldest.file_id);
      this.byPath.delete(oldest.file_path);
      this.totalBytes -= oldest.bytes.length;
    }
    return stored;
  }

  get(fileId: string): StoredFile | undefined {
    return this.byId.get(fileId);
  }

  atPath(filePath: string): StoredFile | undefined {
    return this.byPath.get(filePath);
  }
}
