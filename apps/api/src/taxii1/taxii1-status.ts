import type { StatusMessage, StatusType } from '@taxiway/taxii1';
import { taxii1HttpStatus, taxii1StatusType, type Taxii1MessageCode } from './taxii1-error.map';

/**
 * A TAXII-level failure, answered as a Status Message. Its code (a status type, or a transport
 * refusal such as TOO_LARGE) gives the status type and the HTTP status (taxii1-error.map.ts).
 */
export class Taxii1Status extends Error {
  readonly type: StatusType;
  /** The HTTP status the Status Message is sent under. */
  readonly httpStatus: number;

  constructor(
    readonly code: Taxii1MessageCode,
    message: string,
    readonly details: readonly (readonly [string, string])[] = [],
  ) {
    super(message);
    this.name = 'Taxii1Status';
    this.type = taxii1StatusType(code);
    this.httpStatus = taxii1HttpStatus(code);
  }

  toMessage(): StatusMessage {
    return { kind: 'status', type: this.type, message: this.message, details: this.details };
  }
}
