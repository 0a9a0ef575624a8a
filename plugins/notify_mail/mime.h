/*
 * The e-mail notify_mail sends: UTF-8 text, an RFC 2047 subject, a
 * Message-ID from the alert. Pure functions, unit tested.
 */
#ifndef NOTIFY_MAIL_MIME_H
#define NOTIFY_MAIL_MIME_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/*
 * text (UTF-8) as RFC 2047 encoded-words ("=?UTF-8?B?...?="), each at most
 * 75 characters, never splitting a character, folded with CRLF SP. 0, or -1
 * when out is too small or text is no valid UTF-8 or holds a control
 * character.
 */
int mime_encode_header(const char *text, char *out, size_t size);
/* "<tremplin.alert.<alert>.<staff>@<domain>>": 0, or -1 when too small. */
int mime_message_id(int64_t alert_id, int64_t staff_id, const char *domain, char *out, size_t size);
/*
 * The whole message, CRLF line ends, body in base64: a new string, or NULL
 * (bad input or out of memory). from, to: addresses without CR, LF, <, >.
 */
char *mime_message(const char *from_name, const char *from, const char *to, const char *subject,
    const char *body, const char *message_id, time_t date);

#endif
