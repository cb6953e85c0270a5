# language: zh-TW
功能: 基本資料建檔
  家屬在便民服務入口網點擊註冊，先閱讀並確認個資聲明，再輸入註冊資料送出；
  系統寄出認證郵件，家屬點選信中連結完成帳號驗證後才能登入。
  為了不讓任何人藉註冊得知某人是否有帳號（有帳號即透露與收容人的關係），
  以已註冊的 Email 或身分證號再次註冊時，畫面回應與全新註冊完全相同，改以郵件通知原帳號持有人。

  背景:
    假設 入口網網址設定為 "https://www.mblpweb.gov.tw/MBLPWEB"

  場景: 點擊註冊先顯示個資聲明及其版本
    當 訪客點擊註冊
    那麼 個資聲明標題為 "法務部矯正署「便民服務入口網」 個人資料蒐集告知聲明"
    而且 個資聲明版本為 "2020-10"
    而且 個資聲明內文提到 "會員管理"
    而且 個資聲明內文提到 "確認註冊者或服務申請者與矯正機關收容人關係"
    而且 個資聲明內文提到 "個人資料保護法第 3 條"

  場景: 未勾選個資聲明不能註冊，也不留下任何資料
    當 "王小明" 未勾選個資聲明就送出註冊資料（Email ty.wang@example.com，身分證號 A123456789）
    那麼 操作失敗，錯誤類型為 ValidationError，代碼為 "consent_required"
    而且 系統中沒有 Email "ty.wang@example.com" 或身分證號 "A123456789" 的帳號
    而且 系統沒有寄出任何郵件

  場景: 註冊成功後顯示註冊結果並寄出認證郵件
    當 "王小明" 勾選個資聲明並送出註冊資料（Email ty.wang@example.com，身分證號 A123456789）
    那麼 帳號註冊結果頁顯示 "註冊成功，帳號驗證信件已寄至信箱：ty*****。請收信進行帳號驗證。"
    而且 信箱 "ty.wang@example.com" 收到主旨為 "便民服務入口網 註冊通知" 的郵件
    而且 該郵件內文含有 "您於【便民服務入口網】註冊帳號成功，請點選下方連結進行帳號驗證"
    而且 該郵件的驗證連結以 "https://www.mblpweb.gov.tw/MBLPWEB/verify?token=" 開頭
    而且 以 "ty.wang@example.com" 登入被拒，錯誤代碼為 "account_not_verified"

  場景: 點選認證郵件的連結後帳號驗證成功，可以登入
    假設 "王小明" 勾選個資聲明並送出註冊資料（Email ty.wang@example.com，身分證號 A123456789）
    當 點選寄給 "ty.wang@example.com" 的驗證連結
    那麼 帳號驗證結果頁顯示 "帳號驗證成功"
    而且 以 "ty.wang@example.com" 登入成功
    而且 該帳號留存同意的個資聲明版本 "2020-10"，同意時間為 "2020/10/07 11:00:00"

  場景大綱: 註冊資料格式錯誤時指出錯誤欄位，不建立帳號也不寄信
    當 "王小明" 勾選個資聲明並送出註冊資料，其中<欄位>填寫 "<輸入值>"
    那麼 操作失敗，錯誤類型為 ValidationError，代碼為 "<代碼>"
    而且 註冊表單的<欄位>欄標示錯誤 "<代碼>"
    而且 系統中沒有 Email "ty.wang@example.com" 或身分證號 "A123456789" 的帳號
    而且 系統沒有寄出任何郵件

    例子:
      | 欄位     | 輸入值              | 代碼                 |
      | Email    | ty.wang@            | email_format         |
      | Email    | ty.wang.example.com | email_format         |
      | 身分證號 | A12345678           | national_id_format   |
      | 身分證號 | 1123456789          | national_id_format   |
      | 身分證號 | A123456788          | national_id_checksum |
      | 手機     | 0812345678          | mobile_format        |
      | 手機     | 09123456            | mobile_format        |

  場景大綱: 以已註冊的 Email 或身分證號再次註冊，回應與全新註冊相同，改通知原持有人
    假設 家屬 "王小明" 已註冊並完成驗證（Email ty.wang@example.com，身分證號 A123456789）
    當 有人勾選個資聲明，以姓名 "王大明"、Email "<Email>"、身分證號 "<身分證號>"、密碼 "another-passphrase-99" 送出註冊資料
    那麼 帳號註冊結果頁顯示 "註冊成功，帳號驗證信件已寄至信箱：<遮罩信箱>。請收信進行帳號驗證。"
    而且 "王小明" 收到主旨含 "註冊嘗試" 的郵件
    而且 註冊嘗試通知內文含有 "您的帳號已存在，無需再次註冊"
    而且 系統只寄出 1 封 "便民服務入口網 註冊通知"
    而且 以 "<Email>" 及密碼 "another-passphrase-99" 登入失敗，錯誤代碼為 "authentication_failed"
    而且 以 Email "<Email>" 或身分證號 "<身分證號>" 都查不到 "王小明" 以外的帳號
    而且 身分證號 "A123456789" 與 Email "ty.wang@example.com" 仍屬於 "王小明" 的同一個帳號
    而且 以 "ty.wang@example.com" 登入成功

    例子: 同一 Email（大小寫不同或全形輸入）
      | Email                                | 身分證號   | 遮罩信箱 |
      | ty.wang@example.com                  | B123456780 | ty*****  |
      | TY.Wang@Example.COM                  | B123456780 | TY*****  |
      | ｔｙ．ｗａｎｇ＠ｅｘａｍｐｌｅ．ｃｏｍ | B123456780 | ty*****  |

    例子: 同一身分證號（含全形或小寫輸入）
      | Email               | 身分證號   | 遮罩信箱 |
      | da.wang@example.com | A123456789 | da*****  |
      | da.wang@example.com | Ａ１２３４５６７８９ | da*****  |
      | da.wang@example.com | a123456789 | da*****  |

  場景: 以不存在的驗證碼驗證帳號失敗
    假設 "王小明" 勾選個資聲明並送出註冊資料（Email ty.wang@example.com，身分證號 A123456789）
    當 以驗證碼 "0123456789abcdef0123456789abcdef" 進行帳號驗證
    那麼 操作失敗，錯誤類型為 InvalidToken，代碼為 "invalid_token"
    而且 以 "ty.wang@example.com" 登入被拒，錯誤代碼為 "account_not_verified"

  場景: 驗證連結只能使用一次
    假設 "王小明" 勾選個資聲明並送出註冊資料（Email ty.wang@example.com，身分證號 A123456789）
    而且 點選寄給 "ty.wang@example.com" 的驗證連結
    當 再次點選寄給 "ty.wang@example.com" 的驗證連結
    那麼 操作失敗，錯誤類型為 InvalidToken，代碼為 "invalid_token"

  場景大綱: 驗證連結在寄出後 24 小時內有效
    假設 "王小明" 勾選個資聲明並送出註冊資料（Email ty.wang@example.com，身分證號 A123456789）
    而且 過了 <小時> 小時
    當 點選寄給 "ty.wang@example.com" 的驗證連結
    那麼 帳號驗證的結果為 "<結果>"
    而且 以 "ty.wang@example.com" 登入的結果為 "<登入結果>"

    例子:
      | 小時 | 結果           | 登入結果             |
      | 23   | 帳號驗證成功   | 登入成功             |
      | 24   | invalid_token  | account_not_verified |
      | 25   | invalid_token  | account_not_verified |
