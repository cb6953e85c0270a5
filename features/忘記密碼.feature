# language: zh-TW
功能: 忘記密碼
  家屬忘記密碼時，在登入頁點選「忘記密碼」並輸入 Email，系統寄出重設密碼連結
  （1 小時內有效、只能使用一次），家屬點選連結自行設定新密碼。
  有帳號即透露與收容人的關係，所以不論這個 Email 是否有帳號，畫面回應都完全相同；
  帳號存在時改以郵件通知持有人。重設密碼後寄信通知，其他已登入的裝置一律登出。

  背景:
    假設 入口網網址設定為 "https://www.mblpweb.gov.tw/MBLPWEB"
    而且 家屬 "王小明" 已註冊並完成驗證（Email ty.wang@example.com，身分證號 A123456789）

  場景: 已註冊與未註冊的 Email 申請忘記密碼，回應完全相同，只有帳號持有人收到郵件
    當 以 Email "ty.wang@example.com" 申請忘記密碼
    而且 以 Email "nobody@example.com" 申請忘記密碼
    那麼 這 2 次忘記密碼申請的回應完全相同
    而且 信箱 "ty.wang@example.com" 收到主旨為 "便民服務入口網 重設密碼" 的郵件
    而且 該郵件的重設連結以 "https://www.mblpweb.gov.tw/MBLPWEB/reset-password?token=" 開頭
    而且 信箱 "nobody@example.com" 沒有收到任何郵件

  場景: 尚未完成驗證的帳號申請忘記密碼，回應相同，改寄信提醒先完成驗證
    假設 家屬 "李大華" 已註冊但尚未驗證（Email da.li@example.com，身分證號 A800000014）
    當 以 Email "da.li@example.com" 申請忘記密碼
    而且 以 Email "nobody@example.com" 申請忘記密碼
    那麼 這 2 次忘記密碼申請的回應完全相同
    而且 "李大華" 收到主旨含 "請先完成帳號驗證" 的郵件
    而且 "李大華" 沒有收到主旨含 "重設密碼" 的郵件

  場景: Email 格式錯誤時，不論是否有帳號都指出格式錯誤
    當 以 Email "ty.wang@" 申請忘記密碼
    那麼 操作失敗，錯誤類型為 ValidationError，代碼為 "email_format"
    而且 這次申請沒有寄出任何郵件

  場景: 點選重設連結設定新密碼後，以新密碼登入，舊密碼失效，其他裝置登出，並寄信通知
    假設 "王小明" 已在另一台裝置登入
    而且 以 Email "ty.wang@example.com" 申請忘記密碼
    當 以寄給 "ty.wang@example.com" 的重設連結設定新密碼 "a-brand-new-passphrase"
    那麼 操作成功
    而且 以 "ty.wang@example.com" 及新密碼 "a-brand-new-passphrase" 登入成功
    而且 以 "ty.wang@example.com" 及密碼 "family-passphrase-2020" 登入失敗，錯誤代碼為 "authentication_failed"
    而且 "王小明" 收到主旨含 "密碼已變更" 的郵件
    而且 "王小明" 在另一台裝置的登入已失效

  場景: 重設連結只能使用一次
    假設 以 Email "ty.wang@example.com" 申請忘記密碼
    而且 以寄給 "ty.wang@example.com" 的重設連結設定新密碼 "a-brand-new-passphrase"
    當 再次以寄給 "ty.wang@example.com" 的重設連結設定新密碼 "another-new-passphrase"
    那麼 操作失敗，錯誤類型為 InvalidToken，代碼為 "invalid_token"
    而且 畫面顯示的錯誤訊息為 "連結無效或已過期，請重新申請。"
    而且 以 "ty.wang@example.com" 及新密碼 "a-brand-new-passphrase" 登入成功

  場景: 以新的重設連結設定密碼後，先前寄出的重設連結一併失效
    假設 以 Email "ty.wang@example.com" 申請忘記密碼
    而且 以 Email "ty.wang@example.com" 申請忘記密碼
    而且 以寄給 "ty.wang@example.com" 的重設連結設定新密碼 "a-brand-new-passphrase"
    當 以寄給 "ty.wang@example.com" 的第一封重設連結設定新密碼 "another-new-passphrase"
    那麼 操作失敗，錯誤類型為 InvalidToken，代碼為 "invalid_token"
    而且 以 "ty.wang@example.com" 及新密碼 "a-brand-new-passphrase" 登入成功

  場景大綱: 重設連結在寄出後 1 小時內有效
    假設 以 Email "ty.wang@example.com" 申請忘記密碼
    而且 過了 <分鐘> 分鐘
    當 以寄給 "ty.wang@example.com" 的重設連結設定新密碼 "a-brand-new-passphrase"
    那麼 重設密碼的結果為 "<結果>"
    而且 以 "ty.wang@example.com" 及新密碼 "<可登入的密碼>" 登入成功

    例子:
      | 分鐘 | 結果          | 可登入的密碼           |
      | 59   | 重設成功      | a-brand-new-passphrase |
      | 60   | invalid_token | family-passphrase-2020 |
      | 61   | invalid_token | family-passphrase-2020 |

  場景: 驗證信的連結不能用來重設密碼
    假設 家屬 "李大華" 已註冊但尚未驗證（Email da.li@example.com，身分證號 A800000014）
    當 以寄給 "da.li@example.com" 的驗證連結設定新密碼 "a-brand-new-passphrase"
    那麼 操作失敗，錯誤類型為 InvalidToken，代碼為 "invalid_token"

  場景: 竄改過的重設連結無效
    假設 以 Email "ty.wang@example.com" 申請忘記密碼
    當 以竄改過的重設連結設定新密碼 "a-brand-new-passphrase"
    那麼 操作失敗，錯誤類型為 InvalidToken，代碼為 "invalid_token"
    而且 以 "ty.wang@example.com" 及新密碼 "family-passphrase-2020" 登入成功

  場景大綱: 新密碼太弱時拒絕並說明原因，連結仍可再使用
    假設 以 Email "ty.wang@example.com" 申請忘記密碼
    當 以寄給 "ty.wang@example.com" 的重設連結設定新密碼 "<新密碼>"
    那麼 操作失敗，錯誤類型為 ValidationError，代碼為 "<代碼>"
    而且 畫面顯示的錯誤訊息為 "<訊息>"
    而且 錯誤標示的欄位為 "password"
    當 再次以寄給 "ty.wang@example.com" 的重設連結設定新密碼 "a-brand-new-passphrase"
    那麼 操作成功

    例子:
      | 新密碼                     | 代碼                      | 訊息                                               |
      | short-pass                 | password_too_short        | 密碼至少需要 12 個字元。                           |
      | 1q2w3e4r5t6y               | password_common           | 這個密碼太常見，很容易被猜到，請換一個。           |
      | qwertyuiop123              | password_common           | 這個密碼太常見，很容易被猜到，請換一個。           |
      | ty.wang-forever-2020       | password_contains_context | 密碼不可包含您的 Email、身分證號或本系統名稱。     |
      | a123456789-family          | password_contains_context | 密碼不可包含您的 Email、身分證號或本系統名稱。     |
      | 我最愛矯正署的家庭聯絡簿了 | password_contains_context | 密碼不可包含您的 Email、身分證號或本系統名稱。     |
      | my-contactbook-passphrase  | password_contains_context | 密碼不可包含您的 Email、身分證號或本系統名稱。     |
