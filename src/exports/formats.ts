import { csvRecord } from './csv.js';

export type ExportFormat = 'CSV' | 'JSON' | 'NDJSON';

/** One exported row: column name → value (strings, numbers, null, or JSON for tags and data). */
export type ExportRow = Record<string, unknown>;

/** How each format is served. */
export const FORMAT_FILES: Record<ExportFormat, { contentType: string; extension: string }> = {
  CSV: { contentType: 'text/csv; charset=utf-8', extension: 'csv' },
  JSON: { contentType: 'application/json; charset=utf-8', extension: 'json' },
  NDJSON: { contentType: 'application/x-ndjson; charset=utf-8', extension: 'ndjson' },
};

/** Turns rows into the text of a file, piece by piece, so no more than one row is held at a time. */
export interface FormatWriter {
  start(): string;
  row(row: ExportRow, index: number): string;
  end(): string;
}

/** A CSV cell's text: empty for null, JSON for lists and objects. */
function cellText(value: unknown): string {
  if (value === null || value === undefined) return '';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

export function formatWriter(format: ExportFormat, columns: readonly string[]): FormatWriter {
  switch (format) {
    case 'CSV':
      return {
        start: () => csvRecord(columns),
        row: (row) => csvRecord(columns.map((column) => cellText(row[column]))),
        end: () => '',
      };
    case 'JSON':
      return {
        start: () => '[',
        row: (row, index) => `${index === 0 ? '\n' : ',\n'}${JSON.stringify(row)}`,
        end: () => '\n]\n',
      };
    case 'NDJSON':
      return {
        start: () => '',
        row: (row) => `${JSON.stringify(row)}\n`,
        end: () => '',
      };
  }
}
