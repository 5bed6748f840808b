import { ClickHouseError } from '@clickhouse/client';
import { describe, expect, it } from 'vitest';
import { clickhouseFailure, describeClickHouseFailure } from '../../../../src/core/clickhouse/index.ts';

describe('ClickHouse failures', () => {
  it('recognises refused credentials in the 18.16 wording', () => {
    const err = new Error(
      'Code: 193, e.displayText() = DB::Exception: Wrong password for user sink, e.what() = DB::Exception',
    );
    expect(clickhouseFailure(err)).toEqual({
      code: 193,
      detail: 'Wrong password for user sink',
      authentication: true,
    });
    expect(describeClickHouseFailure(err)).toBe(
      'ClickHouse authentication failed (code 193): Wrong password for user sink; check clickhouse.username and ' +
        'clickhouse.password (AMOSKYS_CLICKHOUSE_USERNAME, AMOSKYS_CLICKHOUSE_PASSWORD)',
    );
    expect(
      clickhouseFailure(
        new Error('Code: 192, e.displayText() = DB::Exception: Unknown user x, e.what() = DB::Exception'),
      ),
    ).toMatchObject({ code: 192, authentication: true });
  });

  it('recognises refused credentials as current servers report them', () => {
    const err = new ClickHouseError({
      message: 'sink: Authentication failed: password is incorrect, or there is no user with such name. ',
      code: '516',
      type: 'AUTHENTICATION_FAILED',
    });
    expect(clickhouseFailure(err)).toMatchObject({ code: 516, authentication: true });
    expect(describeClickHouseFailure(err)).toMatch(
      /^ClickHouse authentication failed \(code 516\): sink: Authentication failed/,
    );
  });

  it('keeps other server errors and network errors as they are', () => {
    const unknownTable = new Error(
      "Code: 60, e.displayText() = DB::Exception: Table amoskys.nope doesn't exist., e.what() = DB::Exception",
    );
    expect(describeClickHouseFailure(unknownTable)).toBe("Table amoskys.nope doesn't exist. (code 60)");
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8123'), { code: 'ECONNREFUSED' });
    expect(clickhouseFailure(refused)).toEqual({
      code: undefined,
      detail: 'connect ECONNREFUSED 127.0.0.1:8123',
      authentication: false,
    });
  });
});
